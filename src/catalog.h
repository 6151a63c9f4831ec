/*
 * catalog.h
 *		Reading and writing hitl's own tables (hitl.models,
 *		hitl.model_versions, hitl.label_log, hitl.queue, hitl.restored_logs):
 *		the catalog layer, the family of files src/catalog*.c.  Every SQL
 *		statement hitl runs on its own tables is in one of them.
 *
 * catalog.c: hitl.models (load, check, lock; the worker's state of a model)
 * catalog_versions.c: hitl.model_versions (load, store, mark scored)
 * catalog_admin.c: the SQL-callable writers of hitl.models
 * catalog_queue.c: hitl.queue, replaced by each scoring
 * catalog_labels.c: hitl.models and hitl.label_log as the label triggers read them
 * catalog_changes.c: the label log entries and labels a training reads
 *
 * All functions here run inside an SPI connection opened by the caller and
 * copy what they return into the memory context the caller names (or the
 * current one), so the results outlive SPI_finish().
 */
#ifndef HITL_CATALOG_H
#define HITL_CATALOG_H

#include "postgres.h"

#include "access/htup.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#include "metrics.h"
#include "security.h"

/* A model's state (hitl.models.status) */
typedef enum ModelStatus
{
	MODEL_WAITING_FOR_LABELS,	/* fewer labels than min_labels, or none yet */
	MODEL_TRAINED,				/* a version is trained, its scores not all
								 * written yet */
	MODEL_SCORED,				/* the current version's scores are written */
	MODEL_FAILED,				/* the last training or scoring failed; retried */
	MODEL_BROKEN				/* its table or columns changed; never retried */
} ModelStatus;

/* A model's algorithm (hitl.models.algorithm) */
typedef enum ModelAlgorithm
{
	MODEL_LOGISTIC,
	MODEL_NAIVE_BAYES
} ModelAlgorithm;

/* Their names as stored; parsing an unknown name is an error */
extern const char *catalog_status_name(ModelStatus status);
extern ModelStatus catalog_status_parse(const char *name);
extern const char *catalog_algorithm_name(ModelAlgorithm algorithm);
extern ModelAlgorithm catalog_algorithm_parse(const char *name);

/* A model's configuration (a row of hitl.models) */
typedef struct HitlModel
{
	char	   *name;
	Oid			source;			/* the source table */
	char	   *source_text;	/* its name, schema-qualified when needed */
	char	   *label_column;
	int			n_feature_columns;
	char	  **feature_columns;
	int			n_key_columns;
	char	  **key_columns;
	char	   *prediction_column;
	char	   *confidence_column;
	char	   *uncertainty_column;
	ModelAlgorithm algorithm;
	UncertaintyStrategy strategy;
	Oid			owner;
	int			current_version;	/* 0 when never trained */

	/* options */
	double		C;
	int			min_labels;
	int			max_iter;
	double		tol;
	int			cv_folds;
	char	   *cv_group_column;	/* rows of a group share a fold; or NULL */
	double		score_tolerance;
	int			queue_size;
	double		evaluation_rate;	/* share of the queue drawn at random */
	int			batch_size;

	/* text features (text_config is NULL when the model has no text column) */
	char	   *text_config;	/* text search configuration's name */
	bool		bigrams;
	int			buckets;
	int			max_text_bytes;
	double		alpha;			/* naive Bayes smoothing */
} HitlModel;

/* Is the model's algorithm naive Bayes? */
#define model_is_nbayes(m) ((m)->algorithm == MODEL_NAIVE_BAYES)

/* Sparse models: text features, or naive Bayes */
#define model_is_sparse(m) ((m)->text_config != NULL || model_is_nbayes(m))

/* A trained version (a row of hitl.model_versions) */
typedef struct HitlVersion
{
	int			version;
	int			n_labeled;
	int			n_classes;
	char	  **classes;		/* in the label type's order */
	int			n_feature_columns;
	int		   *feature_dims;	/* per feature column: 0 scalar, else array length */
	int			d;				/* expanded features */
	char	  **feature_names;	/* d names: column or column[i] */
	double	   *means;			/* d */
	double	   *scales;			/* d */
	double	   *coef;			/* logistic: logreg_ncoef(d + n_vocabulary,
								 * n_classes); naive Bayes: none */

	/*
	 * Sparse models (text features, naive Bayes).  Their parameters are
	 * indexed by positions: the d dense features first, then the text
	 * buckets of the vocabulary.
	 */
	int			n_idf;			/* buckets met in the table ... */
	int32	   *idf_buckets;	/* ... ascending */
	double	   *idf;			/* ... and their inverse document frequency */
	int64		n_documents;	/* rows the idf was computed over */
	int			n_vocabulary;
	int32	   *vocabulary;		/* text buckets with parameters, ascending */

	/* naive Bayes statistics (see nbayes.h) */
	double	   *class_counts;	/* n_classes */
	int64		n_counts;
	int64	   *count_index;	/* position * n_classes + class */
	double	   *counts;
	char	   *label_snapshot; /* the label log entries they include: those
								 * visible in this pg_snapshot */
	char	   *data_hash;		/* dense logistic: hash of what it was trained
								 * on (rows, labels, options); NULL if none */
	double		temperature;	/* calibration of its probabilities (see
								 * calibrate.h): 1 when none */
	bool		cv_pending;		/* its cross-validation was deferred, and
								 * its figures are still its base's */
	int			figures_from;	/* the version its cross-validated figures
								 * were computed on ("accuracy_from", or
								 * itself) */
} HitlVersion;

/*
 * SQL expression for the OID of the owner of the model row aliased "m" of
 * hitl.models, 0 when that role is gone.  The owner is a role name, matched
 * exactly; before 0.2.0 it was a regrole, matched by its quoted name (only
 * then: a role named with quotes must not match another one's name).
 */
#define CATALOG_OWNER_OID_SQL \
	"coalesce((SELECT r.oid FROM pg_catalog.pg_roles r" \
	" WHERE r.rolname::pg_catalog.text OPERATOR(pg_catalog.=) m.owner::pg_catalog.text" \
	" OR (pg_catalog.pg_typeof(m.owner) OPERATOR(pg_catalog.=) 'pg_catalog.regrole'::pg_catalog.regtype" \
	"  AND pg_catalog.quote_ident(r.rolname) OPERATOR(pg_catalog.=) m.owner::pg_catalog.text)" \
	" ORDER BY r.rolname::pg_catalog.text OPERATOR(pg_catalog.=) m.owner::pg_catalog.text DESC" \
	" LIMIT 1), 0::pg_catalog.oid)"

/* ------------------------------------------------------------------------
 * hitl.models (catalog.c)
 * ------------------------------------------------------------------------ */

/*
 * Load a model by name; raises 42704 when it does not exist, 42501 when the
 * current role does not see it.
 */
extern HitlModel *catalog_load_model(const char *name, MemoryContext mcxt);

/*
 * Raise 42501 unless the current role may change the model: train or score
 * it (action names what, for the message).
 */
extern void catalog_check_may_change(const HitlModel *model, const char *action);

/*
 * Citus: is the relation a shard of a Citus table on this node, and is
 * this database a Citus worker node?  Both false without Citus.
 */
extern bool catalog_citus_shard(Oid relid);

/* Raise 0A000 when the model's table is one Citus manages */
extern void catalog_check_not_citus(const HitlModel *model);
extern bool catalog_citus_worker_node(void);

/*
 * Models on hash-distributed tables (catalog_citus.c): is a table one, the
 * table of a shard on this node, the model's mirror on the worker nodes,
 * the label changes the worker nodes logged, and whether the database has
 * such a model.
 */
extern bool catalog_citus_distributed(Oid relid);
extern Oid	catalog_citus_shard_parent(Oid relid);
extern void catalog_citus_mirror(const HitlModel *model);
extern int64 catalog_citus_pull_labels(const char *model);
extern int64 catalog_citus_wait_target(const char *model);
extern int	catalog_citus_worker_look(Oid source, const char *model);
extern bool catalog_citus_model_distributed(const char *model);
extern void catalog_citus_run_as_caller(const char *query, int nargs, Oid *argtypes,
										Datum *values, const char *what);

/* Lock a model for training; raises an error when the role may not change it */
extern void catalog_lock_model(const HitlModel *model);

/* ------------------------------------------------------------------------
 * hitl.model_versions (catalog_versions.c)
 * ------------------------------------------------------------------------ */

/*
 * Load a version of a model; raises an error when it does not exist, and
 * XX001 when its arrays do not agree with each other or with the model.
 */
extern HitlVersion *catalog_load_version(const HitlModel *model, int version,
										 MemoryContext mcxt);

/*
 * The classes of a version alone (not its other arrays); NULL when the
 * version is not there.
 */
extern char **catalog_load_classes(const HitlModel *model, int version, int *n,
								   MemoryContext mcxt);

/*
 * Record a new version (number: the largest so far plus one) and make it the
 * model's current version.  metrics_json is a jsonb text.  Returns the
 * version number.
 */
extern int	catalog_store_version(const HitlModel *model, HitlVersion *v,
								  const char *metrics_json, double train_ms);

/* Record that the stored scores now come from the given version */
extern void catalog_mark_scored(const HitlModel *model, int version);

/* A version as the worker's log line tells it */
typedef struct VersionSummary
{
	int			version;
	int			n_labeled;
	double		train_ms;
	double		cv_accuracy;	/* NaN when not cross-validated */
	bool		cv_pending;		/* its cross-validation is still to come */
	double		cv_deferred_ms; /* the time it took when deferred, or NaN */
} VersionSummary;

/* The model's current version; false when it has none */
extern bool catalog_current_version_summary(const char *name, VersionSummary *s);

/*
 * The metrics (a jsonb text) of a version made from version base without a
 * cross-validation of its own, with base's cross-validated figures copied
 * in and "accuracy_from" naming the version they were computed on.
 */
extern char *catalog_with_base_figures(const HitlModel *model, int base, const char *metrics);

/*
 * Put the cross-validated figures of metrics into a version whose
 * cross-validation was deferred; returns its calibration temperature after
 */
extern double catalog_replace_cv_figures(const HitlModel *model, int version,
										 const char *metrics, double ms,
										 double old_temperature, bool *done);

/* ------------------------------------------------------------------------
 * The worker's state of a model in hitl.models (catalog.c), read by the
 * worker and hitl.wait()
 * ------------------------------------------------------------------------ */

/* A model as the worker lists it (catalog_list_models) */
typedef struct HitlModelEntry
{
	char	   *name;
	Oid			source;			/* its table */
	Oid			owner;			/* 0 when the owner's role is gone */
	ModelStatus status;
	bool		retry_later;	/* its retry_at is in the future ... */
	long		retry_in_ms;	/* ... that far */
} HitlModelEntry;

/*
 * The enabled models of the database, ordered by name, as a List of
 * HitlModelEntry allocated in mcxt.
 */
extern List *catalog_list_models(MemoryContext mcxt);

/* How far a model's work is (catalog_read_progress) */
typedef struct ModelProgress
{
	int64		logged;			/* entries of its label log; -1: not counted */
	int64		processed_labels;	/* entries its last training saw */
	int			current_version;	/* 0 when none */
	int			scored_version; /* 0 when none */
	ModelStatus status;
	char	   *last_error;		/* NULL when none */
	TimestampTz failed_at;		/* -infinity when never */
	bool		cv_pending;		/* the current version's cross-validation
								 * was deferred and is still to come */
} ModelProgress;

/*
 * Read a model's progress (with count_log, count its label log too), with a
 * new snapshot per read (fresh) or the transaction's; false when the model
 * is not there.
 */
extern bool catalog_read_progress(const char *name, bool count_log, bool fresh,
								  ModelProgress *p);

/*
 * Record that a training of the model saw logged label log entries; a
 * model that did not train has no failure left, and waits for labels when
 * it has no version.
 */
extern void catalog_record_labels_seen(const char *name, int64 logged,
									   bool trained);

/* What recording a failure found */
typedef struct ModelFailure
{
	int			failures;		/* in a row, this one included */
	bool		repeated;		/* the message is the one recorded last */
	long		retry_in_ms;	/* the back-off before its retry */
} ModelFailure;

/*
 * Record a model's failure with message, and its retry after a back-off
 * that doubles with each failure in a row; false when the model is gone.
 */
extern bool catalog_record_failure(const char *name, const char *message,
								   ModelFailure *f);

/* The source table of a row of hitl.models (a trigger's tuple); 0 if null */
extern Oid	catalog_model_row_source(Relation models, HeapTuple tuple);

/* ------------------------------------------------------------------------
 * Helpers of the catalog files (catalog*.c alone)
 * ------------------------------------------------------------------------ */

/*
 * Enter a scope for reading hitl's tables as the current role (row-level
 * security applies) with a safe search_path; leave it with hitl_role_exit.
 */
extern void catalog_read_enter(HitlRoleScope *scope);

/* The role a statement of catalog_execute runs as */
typedef enum CatalogRole
{
	CATALOG_AS_CALLER,			/* the current role: row-level security applies */
	CATALOG_AS_OWNER			/* the owner of hitl's tables: every write */
} CatalogRole;

/*
 * Run a statement on hitl's tables as that role, in a scope with a safe
 * search_path; raise an error naming what unless SPI returns expected.
 * Returns the rows processed (the rows read are in SPI_tuptable).
 */
extern uint64 catalog_execute(CatalogRole as, const char *sql, int nargs,
							  Oid *argtypes, Datum *values, const char *nulls,
							  bool read_only, int expected, const char *what);

/*
 * catalog_execute() of a statement prepared at its first call and kept for
 * the backend's life in *plan (a static of the caller, NULL at first); sql
 * must be the same at every call.
 */
extern uint64 catalog_execute_kept(CatalogRole as, SPIPlanPtr *plan, const char *sql,
								   int nargs, Oid *argtypes, Datum *values,
								   const char *nulls, bool read_only, int expected,
								   const char *what);

/* A text[] of hitl's tables as C strings (XX001 when it holds a null) */
extern char **catalog_text_array(Datum arr, int *n);


/* ------------------------------------------------------------------------
 * catalog_queue.c: a model's review queue (hitl.queue), replaced by each
 * scoring
 * ------------------------------------------------------------------------ */

/*
 * Empty the model's queue, as the owner of hitl's tables, in the caller's
 * SPI connection.
 */
extern void catalog_queue_clear(const char *model);

/*
 * Fill the model's queue with the candidates of a scoring of version: ranks
 * (int4[]), row keys (jsonb[]), predictions (text[]), confidences and
 * uncertainties (float8[]), evaluation rows or not (bool[]), one element each per candidate; then update
 * the queue's statistics for n_candidates rows.  Runs as the owner of
 * hitl's tables, in the caller's SPI connection.
 */
extern void catalog_queue_fill(const char *model, int version, Datum ranks,
							   Datum keys, Datum predictions, Datum confidences,
							   Datum uncertainties, Datum evaluations,
							   int64 n_candidates);

/* ------------------------------------------------------------------------
 * catalog_labels.c: hitl.models and hitl.label_log as the label triggers
 * and the row check read them (see label_internal.h)
 * ------------------------------------------------------------------------ */

#include "access/attnum.h"

/* A row of hitl.models, as far as the label triggers and row check need it */
typedef struct LabelModelRow
{
	Oid			source;
	ModelStatus status;			/* MODEL_BROKEN also when it is NULL */
	char	   *label_column;
	int			nkeys;
	char	  **key_columns;
	char	   *prediction_column;
	char	   *confidence_column;
	int32		version;
	bool		version_null;
	char	   *owner;			/* the owner's role name */
	int			annotators;		/* option annotators_per_row (1 when absent) */
} LabelModelRow;

/*
 * Read a model's row of hitl.models, as the active snapshot sees it, past
 * row-level security and privileges (a direct read of the heap, running
 * no SQL): the label triggers run as whichever role changed labels.  False
 * when there is none.  Needs no SPI connection.
 */
extern bool catalog_label_model(const char *model, LabelModelRow *row,
								MemoryContext cxt);

/*
 * Is relid hitl.models, as last found?  Reads no catalog: for relcache
 * invalidation callbacks.
 */
extern bool catalog_is_models_table(Oid relid);

/* The columns of hitl.label_log */
typedef enum LabelLogColumn
{
	LABEL_LOG_ID,
	LABEL_LOG_MODEL,
	LABEL_LOG_ROW_KEY,
	LABEL_LOG_OLD_LABEL,
	LABEL_LOG_NEW_LABEL,
	LABEL_LOG_ROLE,
	LABEL_LOG_AT,
	LABEL_LOG_TXID,
	LABEL_LOG_MODEL_VERSION,
	LABEL_LOG_PREDICTION,
	LABEL_LOG_CONFIDENCE,
	LABEL_LOG_NCOLUMNS
} LabelLogColumn;

/* Where the label log's writer puts a row of hitl.label_log */
typedef struct LabelLogTable
{
	Oid			relid;
	Oid			seqid;			/* the sequence of label_log.id */
	AttrNumber	attnum[LABEL_LOG_NCOLUMNS];
} LabelLogTable;

/* hitl.label_log, found once per backend and again after it changed */
extern const LabelLogTable *catalog_label_log_table(void);

/* What catalog_label_trigger_right() finds */
typedef enum LabelTriggerRight
{
	LABEL_TRIGGER_NO_MODEL,		/* no such model, or the role does not see it */
	LABEL_TRIGGER_DENIED,
	LABEL_TRIGGER_ALLOWED
} LabelTriggerRight;

/*
 * May the current role attach the label triggers of a model: is it a
 * member of the model's owner, or may it update the model's table?  Reads
 * hitl.models as the current role, in the caller's SPI connection.
 */
extern LabelTriggerRight catalog_label_trigger_right(const char *model);

/* ------------------------------------------------------------------------
 * catalog_changes.c: what a training reads of the label log and of the
 * labels (see there)
 * ------------------------------------------------------------------------ */

/* The snapshot a version records in label_snapshot, or NULL (none tells) */
extern char *catalog_label_snapshot(const HitlModel *model, MemoryContext cxt);

/* Were label log entries of the model restored since version prev? */
extern bool catalog_restored_since(const HitlModel *model, const HitlVersion *prev);

/* Does a version's label snapshot come from another cluster's future? */
extern bool catalog_snapshot_from_future(const char *snapshot);

/* A label log entry */
typedef struct CatalogLabelChange
{
	Datum		row_key;		/* jsonb */
	char	   *old_label;		/* NULL: the row was unlabeled */
	char	   *new_label;		/* NULL: its label was cleared */
} CatalogLabelChange;

/*
 * The model's label log entries that a snapshot does not include, oldest
 * first, at most limit; returns their number.
 */
extern int	catalog_label_changes(const HitlModel *model, const char *snapshot, int limit,
								  MemoryContext cxt, CatalogLabelChange **changes);

/*
 * The rows of the model's table per label (NULL: unlabeled) and all its
 * rows; returns the number of labels.
 */
extern int	catalog_count_labels(const HitlModel *model, MemoryContext cxt, char ***labels,
								 int64 **counts, int64 *rows);


/* ------------------------------------------------------------------------
 * catalog_evaluation.c: the evaluation rows, drawn at random into the
 * queue, and the accuracy measured on them once labeled (see there)
 * ------------------------------------------------------------------------ */

#include "lib/stringinfo.h"

/*
 * Do hitl.queue and hitl.label_log have their evaluation columns (not
 * before the update from 0.1.0)?
 */
extern bool catalog_evaluation_ready(void);

/*
 * The row keys (jsonb, as text) of the model's evaluation rows now in its
 * queue, sorted by strcmp, in cxt; returns their number.  A direct read of
 * hitl.queue's heap with the active snapshot, past row-level security and
 * privileges, running no SQL: for the label log's writer.
 */
extern int	catalog_evaluation_keys(const char *model, MemoryContext cxt, char ***keys);

/*
 * Append ", "evaluation": {...}" to a version's metrics: the accuracy of
 * the model's predictions on its evaluation rows, from the label log, with
 * its Wilson 95% interval and the rows it rests on.  Runs in the caller's
 * SPI connection.
 */
extern void catalog_evaluation_json(StringInfo buf, const char *model);

/* ------------------------------------------------------------------------
 * catalog_audit.c: the audit store (hitl.audit), replaced by each full
 * training, and the confirmations of labels (hitl.label_confirmations)
 * ------------------------------------------------------------------------ */

/*
 * Replace the model's audit store with n suspects in rank order: keys
 * (jsonb[]), labels and suggested labels (text[]), label qualities
 * (float8[]); n = 0 empties it.  As the owner of hitl's tables, in the
 * caller's SPI connection.
 */
extern void catalog_audit_replace(const char *model, int n, Datum keys, Datum labels,
								  Datum suggested, Datum quality);

/* Log role's confirmation of the label of a row (as the owner of hitl's tables) */
extern void catalog_audit_confirm(const char *model, Datum row_key, const char *label,
								  const char *role);

#endif

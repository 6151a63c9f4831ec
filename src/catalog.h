/*
 * catalog.h
 *		Reading and writing hitl's own tables: models and their versions.
 *
 * All functions here run inside an SPI connection opened by the caller and
 * copy what they return into the memory context the caller names, so the
 * results outlive SPI_finish().
 */
#ifndef HITL_CATALOG_H
#define HITL_CATALOG_H

#include "postgres.h"

#include "storage/itemptr.h"

#include "metrics.h"

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
	double		score_tolerance;
	int			queue_size;
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

/*
 * Load a model by name; raises 42704 when it does not exist, 42501 when the
 * current role does not see it.
 */
extern HitlModel *catalog_load_model(const char *name, MemoryContext mcxt);

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
 * Raise 42501 unless the current role may change the model: train or score
 * it (action names what, for the message).
 */
extern void catalog_check_may_change(const HitlModel *model, const char *action);

/* Lock a model for training; raises an error when the role may not change it */
extern void catalog_lock_model(const HitlModel *model);

/*
 * Record a new version (number: the largest so far plus one) and make it the
 * model's current version.  metrics_json is a jsonb text.  Returns the
 * version number.
 */
extern int	catalog_store_version(const HitlModel *model, HitlVersion *v,
								  const char *metrics_json, double train_ms);

/* Record that the stored scores now come from the given version */
extern void catalog_mark_scored(const HitlModel *model, int version);

/*
 * SQL expression building a row's key as jsonb from the key columns of a
 * table aliased as alias: jsonb_build_object('id', alias.id, ...).
 */
extern char *catalog_key_json_expr(const HitlModel *model, const char *alias);

/* Key columns as a comma-separated list of alias.column, for ORDER BY */
extern char *catalog_key_list(const HitlModel *model, const char *alias);

/* The key of the row at a ctid, as jsonb text, for error messages */
extern char *catalog_row_key_text(const HitlModel *model, ItemPointer tid);

/*
 * catalog_changes.c: what a training reads of the label log and of the
 * labels (see there).
 */

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

#endif

# Text features in databases of other encodings, and the worker on a naive
# Bayes text model.
#
# Terms are hashed as UTF-8 whatever the database encoding, so the same
# words give the same buckets in a LATIN1 database as in a UTF8 one.  The
# text search parser takes é for a letter in a single-byte database only
# when LC_CTYPE says so: the Latin-1 databases use a Latin-1 locale built
# here with localedef (LOCPATH), next to databases with LC_CTYPE C.  In
# SQL_ASCII, texts with bytes that are not UTF-8 must train and score.
# With hitl preloaded, the worker updates a naive Bayes text model
# incrementally after a label change, to the statistics of a full training.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# psql sends and receives UTF-8
$ENV{PGCLIENTENCODING} = 'UTF8';

# a Latin-1 locale of our own, for the server
my $locale = 'fr_FR.ISO-8859-1';
my $locdir = PostgreSQL::Test::Utils::tempdir;
system("localedef -i fr_FR -f ISO-8859-1 '$locdir/$locale' >/dev/null 2>&1");
my $have_locale = -e "$locdir/$locale/LC_CTYPE";
$ENV{LOCPATH} = $locdir if $have_locale;

my $node = PostgreSQL::Test::Cluster->new('text_encodings');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = '1s'\n");
$node->start;

sub sql
{
	my ($db, $query) = @_;
	return $node->safe_psql($db, $query);
}

# database => [encoding, LC_COLLATE, LC_CTYPE]
my %dbs = (
	u8 => [ 'UTF8', 'C', 'C' ],
	l1 => [ 'LATIN1', 'C', 'C' ],
	sa => [ 'SQL_ASCII', 'C', 'C' ]);
if ($have_locale)
{
	$dbs{l1fr} = [ 'LATIN1', $locale, $locale ];
	$dbs{safr} = [ 'SQL_ASCII', 'C', $locale ];
}
foreach my $db (sort keys %dbs)
{
	my ($enc, $collate, $ctype) = @{ $dbs{$db} };
	sql('postgres',
		qq{CREATE DATABASE $db ENCODING '$enc' LC_COLLATE '$collate' LC_CTYPE '$ctype' TEMPLATE template0});
	# CREATE EXTENSION warns nothing here: hitl is preloaded
	sql($db, 'CREATE EXTENSION hitl');
}
is(sql('l1', 'SHOW server_encoding') . ' ' . sql('sa', 'SHOW server_encoding'),
	'LATIN1 SQL_ASCII', 'databases in LATIN1 and SQL_ASCII');

# ---------------------------------------------------------------------------
# 1. LATIN1: the terms and the buckets of a UTF8 database
# ---------------------------------------------------------------------------

my $words = q{hitl.text_terms('Café crème, thé glacé et pâté', 'simple', true)};
is(sql('u8', "SELECT $words"),
	'{café,crème,thé,glacé,et,pâté,"café crème","crème thé","thé glacé","glacé et","et pâté"}',
	'UTF8: the terms of a French text, bigrams included');

# Two topics in French, words with accents of Latin-1 (and ß, ü).
my $table = q{
CREATE TABLE menu (id int PRIMARY KEY, body text, label text);
INSERT INTO menu SELECT g, format('%s %s %s', w[1 + g % 6], w[1 + (g * 5) % 6], c[1 + g % 4]),
	CASE WHEN g <= 24 THEN topic END
FROM generate_series(1, 30) g,
	 LATERAL (SELECT (ARRAY['boisson', 'plat'])[1 + g % 2] AS topic) t,
	 LATERAL (SELECT CASE topic WHEN 'boisson' THEN ARRAY['café', 'thé', 'crème', 'bière', 'glacé', 'limonade']
				ELSE ARRAY['pâté', 'crêpe', 'gâteau', 'forêt', 'straße', 'über'] END) w(w),
	 LATERAL (SELECT ARRAY['très', 'à', 'déjà', 'goût']) c(c);
SELECT hitl.create_model('menu', 'menu', 'label', '{body}', algorithm => 'naive_bayes',
						 options => '{"bigrams": true}');
};
# what two databases must agree on: statistics, and every row's probabilities
my $stats = q{
SELECT md5(concat_ws(' | ', vocabulary, idf_buckets, idf, n_documents, class_counts, count_index,
					 counts, (SELECT string_agg(label_prediction || ' ' || label_confidence, ',' ORDER BY id)
							  FROM menu)))
FROM hitl.model_versions WHERE model = 'menu'
};

sql('u8', $table);
SKIP:
{
	skip 'localedef could not build a Latin-1 locale', 3 unless $have_locale;

	is(sql('l1fr', "SELECT $words"), sql('u8', "SELECT $words"),
		'LATIN1 (Latin-1 locale): the same terms as in UTF8');
	sql('l1fr', $table);
	is(sql('l1fr', q{SELECT cardinality(vocabulary) FROM hitl.model_versions WHERE model = 'menu'}),
		sql('u8', q{SELECT cardinality(vocabulary) FROM hitl.model_versions WHERE model = 'menu'}),
		'LATIN1: a model of the same size');
	is(sql('l1fr', $stats), sql('u8', $stats),
		'LATIN1: the same buckets (terms hashed as UTF-8), statistics and probabilities as in UTF8');
}

# With LC_CTYPE C, the parser of a single-byte database takes only ASCII
# letters for letters (as to_tsvector does): the words are cut at é, and
# the model has the buckets of a UTF8 model of the same ASCII pieces.
is(sql('l1', "SELECT hitl.text_terms('café crème')"), '{caf,cr,me}',
	'LATIN1 (C): the parser cuts words at non-ASCII letters');
is( sql('l1', q{SELECT hitl.text_terms('Déjà vu: été à Noël') =
	   (SELECT array_agg(lexeme ORDER BY p) FROM (SELECT l.lexeme, unnest(l.positions) AS p
		FROM unnest(to_tsvector('simple', 'Déjà vu: été à Noël')) l) s)}),
	't', 'LATIN1 (C): the terms are the lexemes of to_tsvector');
sql('l1', $table);
sql('u8', q{
CREATE TABLE menu_ascii AS SELECT id, translate(body, 'éèêàâôûüßç', '          ') AS body, label FROM menu;
ALTER TABLE menu_ascii ADD PRIMARY KEY (id);
SELECT hitl.create_model('menu_ascii', 'menu_ascii', 'label', '{body}', algorithm => 'naive_bayes',
						 options => '{"bigrams": true}');
});
(my $stats_ascii = $stats) =~ s/FROM menu\)/FROM menu_ascii)/;
$stats_ascii =~ s/model = 'menu'/model = 'menu_ascii'/;
is(sql('l1', $stats), sql('u8', $stats_ascii),
	'LATIN1 (C): the statistics of a UTF8 model of the same ASCII pieces');

# ---------------------------------------------------------------------------
# 2. SQL_ASCII: bytes that are not UTF-8
# ---------------------------------------------------------------------------

# chr() gives single bytes in SQL_ASCII; \xff\xfe is not UTF-8, \xe9 is é in
# Latin-1 and not UTF-8 either
my $bytes = q{
CREATE TABLE raw (id int PRIMARY KEY, body text, label text);
INSERT INTO raw SELECT g,
	format('%s%s%s %s', w, chr(255), chr(254), (ARRAY['caf' || chr(233), 'plain', 'text'])[1 + g % 3]),
	CASE WHEN g <= 16 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 20) g, LATERAL (SELECT (ARRAY['alpha', 'beta'])[1 + g % 2] AS w) s;
};
my $check = q{
SELECT count(*) = 20, count(label_prediction) = 20, count(lr_prediction) = 20,
	   count(*) FILTER (WHERE label = label_prediction) >= 14
FROM raw
};
my $models = q{
SELECT hitl.create_model('raw_nb', 'raw', 'label', '{body}', algorithm => 'naive_bayes');
SELECT hitl.create_model('raw_lr', 'raw', 'label', '{body}', prediction_column => 'lr_prediction',
						 confidence_column => 'lr_confidence', uncertainty_column => 'lr_uncertainty');
SELECT hitl.score('raw_nb'), hitl.score('raw_lr');
};
sql('sa', $bytes);
my ($ret, $out, $err) = $node->psql('sa', $models);
is($ret, 0, 'SQL_ASCII (C): texts with bytes that are not UTF-8 train and score')
  or diag($err);
is(sql('sa', $check), 't|t|t|t', 'SQL_ASCII (C): every row predicted, the labels fitted');

SKIP:
{
	skip 'localedef could not build a Latin-1 locale', 4 unless $have_locale;

	# here the parser takes the bytes for letters (ÿ, þ, é in Latin-1), so
	# they are part of the terms
	is(sql('safr', q{SELECT array_agg(lexeme) = ARRAY['ab' || chr(255) || 'cd']
					 FROM unnest(to_tsvector('simple', 'ab' || chr(255) || 'cd'))}),
		't', 'SQL_ASCII (Latin-1 locale): the parser keeps the bytes in the word');
	($ret, $out, $err) = $node->psql('safr',
		q{SELECT hitl.text_terms('ab' || chr(255) || 'cd x') = ARRAY['ab' || chr(255) || 'cd', 'x']});
	is($ret . $out, '0t', 'SQL_ASCII (Latin-1 locale): hitl.text_terms keeps them too')
	  or diag($err);
	sql('safr', $bytes);
	($ret, $out, $err) = $node->psql('safr', $models);
	is($ret, 0, 'SQL_ASCII (Latin-1 locale): texts with bytes that are not UTF-8 train and score')
	  or diag($err);
	($ret, $out, $err) = $node->psql('safr', $check);
	is($ret == 0 ? $out : "error: $err", 't|t|t|t',
		'SQL_ASCII (Latin-1 locale): every row predicted, the labels fitted');
}

# ---------------------------------------------------------------------------
# 3. The worker: incremental naive Bayes equals a full training
# ---------------------------------------------------------------------------

ok( $node->poll_query_until(
		'u8', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'u8'},
		'1'),
	'a hitl worker runs for database u8');

# the version the worker made against a full training of the same labels
my $compare = q{
SELECT i.class_counts = f.class_counts, i.vocabulary = f.vocabulary, i.count_index = f.count_index,
	   (SELECT max(abs(a - b)) FROM unnest(i.counts, f.counts) u(a, b)) <= 1e-9,
	   i.idf = f.idf, i.n_labeled = f.n_labeled
FROM hitl.model_versions i, hitl.model_versions f
WHERE i.model = 'menu' AND i.version = :'inc' AND f.model = 'menu' AND f.version = :'full'
};

sub worker_round
{
	my ($what, $labels, $changes) = @_;
	my $before = sql('u8', q{SELECT current_version FROM hitl.models WHERE name = 'menu'});
	# one session, one transaction per statement: a burst the worker trains once
	sql('u8', join(";\n", @$labels));
	my $v = sql('u8', q{SELECT hitl.wait('menu', '60 s')});
	is($v, $before + 1, "$what: hitl.wait returns the version the worker trained");
	is( sql('u8',
			qq{SELECT metrics->>'incremental', metrics->>'changes', metrics->>'base_version'
			   FROM hitl.model_versions WHERE model = 'menu' AND version = $v}),
		"true|$changes|$before",
		"$what: an incremental update of $changes changes to version $before");
	is( sql('u8', q{SELECT count(*) FROM menu m WHERE label_prediction IS DISTINCT FROM hitl.predict('menu', m)}),
		'0', "$what: the worker scored the table with it");
	my $full = sql('u8', q{SELECT hitl.train('menu')});
	(my $q = $compare) =~ s/:'inc'/$v/;
	$q =~ s/:'full'/$full/;
	is(sql('u8', $q), 't|t|t|t|t|t', "$what: the statistics of a full training");
}

worker_round('one label changed', [q{UPDATE menu SET label = 'boisson' WHERE id = 1}], 1);
worker_round(
	'a burst of label changes',
	[
		q{UPDATE menu SET label = 'boisson' WHERE id IN (25, 27)},
		q{UPDATE menu SET label = NULL WHERE id = 3},
		q{BEGIN; UPDATE menu SET label = 'boisson' WHERE id = 5; UPDATE menu SET label = 'plat' WHERE id = 5; COMMIT}
	],
	5);

# ---------------------------------------------------------------------------
# 4. A text model whose labeled rows have no terms
# ---------------------------------------------------------------------------

# A training whose labeled rows have no term at all (it once freed arrays
# it never allocated, and the backend died).
sql('u8', q{
CREATE TABLE quiet (id int PRIMARY KEY, body text, label text);
INSERT INTO quiet SELECT g, CASE WHEN g > 20 THEN 'some words' WHEN g % 3 = 0 THEN '' END,
	CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;
});
($ret, $out, $err) = $node->psql('u8', q{SELECT hitl.create_model('quiet', 'quiet', 'label', '{body}')});
is($ret . $out, '01', 'labeled rows that are all NULL or empty texts: the model trains on its intercepts')
  or diag($err);
# a backend crash would leave the server down (restart_after_crash = off)
($ret, $out, $err) = $node->psql('u8', 'SELECT 1');
is($ret . $out, '01', 'and the server still takes connections') or diag($err);

$node->stop('fast');

done_testing();

# The README's Getting Started, Oversight, Teams of annotators, Simulating a
# campaign and Text sections run as written: every SQL block of those
# sections, in order, in an empty database of a cluster with hitl preloaded
# (hitl.wait needs the worker).  A block that fails, or a section whose
# blocks went missing, fails the test, so the documentation cannot drift
# from the code.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $readme = ($ENV{TESTDIR} // '.') . '/README.md';
open(my $fh, '<', $readme) or die "cannot read $readme: $!";
my @lines = <$fh>;
close($fh);

# The ```sql blocks of a "## " section (its "###" subsections included)
sub sql_blocks
{
	my ($title) = @_;
	my (@blocks, $in_section, $block);
	for my $line (@lines)
	{
		if ($line =~ /^## (.*?)\s*$/)
		{
			$in_section = $1 eq $title;
			next;
		}
		next unless $in_section;
		if (!defined $block && $line =~ /^```sql\s*$/)
		{
			$block = '';
		}
		elsif (defined $block && $line =~ /^```\s*$/)
		{
			push @blocks, $block;
			undef $block;
		}
		elsif (defined $block)
		{
			$block .= $line;
		}
	}
	return @blocks;
}

my @getting_started = sql_blocks('Getting Started');
my @oversight = sql_blocks('Oversight');
my @text = sql_blocks('Text');
my @teams = sql_blocks('Teams of annotators');
my @simulate = sql_blocks('Simulating a campaign');
cmp_ok(scalar @getting_started, '>=', 9, 'Getting Started has its SQL blocks');
cmp_ok(scalar @oversight, '>=', 5, 'Oversight has its SQL blocks');
cmp_ok(scalar @text, '>=', 8, 'Text has its SQL blocks');
cmp_ok(scalar @teams, '>=', 4, 'Teams of annotators has its SQL blocks');
cmp_ok(scalar @simulate, '>=', 1, 'Simulating a campaign has its SQL blocks');

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'hitl'
hitl.naptime = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE readme');
$node->safe_psql('readme', 'CREATE EXTENSION hitl');

# Run the blocks in order; returns their outputs
sub run_blocks
{
	my ($section, @blocks) = @_;
	my @out;
	my $i = 0;
	for my $sql (@blocks)
	{
		$i++;
		my ($first) = $sql =~ /^\s*(.*?)\s*$/m;
		my ($ret, $stdout, $stderr) =
		  $node->psql('readme', $sql, extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
		is($ret, 0, "$section block $i runs: $first")
		  or diag($stderr);
		unlike($stderr, qr/ERROR/, "$section block $i raises no error");
		push @out, $stdout;
	}
	return @out;
}

my @gs = run_blocks('Getting Started', @getting_started);

# what the blocks promise
my ($create) = grep { $getting_started[$_] =~ /hitl\.create_model\('triage'/ } 0 .. $#getting_started;
is($gs[$create], '1', 'create_model trains version 1 at once');
my ($queue) = grep { $getting_started[$_] =~ /FROM triage_review_queue/ } 0 .. $#getting_started;
is(scalar(split /\n/, $gs[$queue]), 10, 'the review view lists 10 rows to label');
my ($wait) = grep { $getting_started[$_] =~ /hitl\.wait\('triage'\)/ } 0 .. $#getting_started;
cmp_ok($gs[$wait], '>=', 2, 'hitl.wait returns a version that includes the new label');
my ($versions) = grep { $getting_started[$_] =~ /FROM hitl\.model_versions/ } 0 .. $#getting_started;
like($gs[$versions], qr/^1\|60\|(0\.\d+|1)\|/m, 'version 1 was trained on 60 labels, with an accuracy') or diag($gs[$versions]);

# Oversight goes on with the tickets of Getting Started
my @ov = run_blocks('Oversight', @oversight);
my ($audit) = grep { $oversight[$_] =~ /FROM triage_audit_queue/ } 0 .. $#oversight;
like($ov[$audit], qr/^6\|bug\|billing\|[0-9.]+\|1\n3\|bug\|billing\|[0-9.]+\|2$/m,
	'the audit queue shows the two flipped labels, with the label the model would give')
  or diag($ov[$audit]);
my ($auto) = grep { $oversight[$_] =~ /hitl\.auto_label\(/ } 0 .. $#oversight;
my ($promised) = $oversight[$auto] =~ /-- (\d+) rows labeled/;
like($ov[$auto], qr/^$promised\n/, "hitl.auto_label labels the $promised rows the README says")
  or diag($ov[$auto]);

# Teams of annotators goes on with the same tickets
my @tm = run_blocks('Teams of annotators', @teams);
my ($ann) = grep { $teams[$_] =~ /SET ROLE ann;\nSELECT row_key, rank, prediction/ } 0 .. $#teams;
my ($bob) = grep { $teams[$_] =~ /SET ROLE bob;/ } 0 .. $#teams;
my %ann_rows = map { (split /\|/)[0] => 1 } split /\n/, $tm[$ann];
my @bob_rows = map { (split /\|/)[0] } split /\n/, $tm[$bob];
is(scalar(keys %ann_rows) . '|' . scalar(@bob_rows), '3|3', 'Ann and Bob get three rows each');
is(scalar(grep { $ann_rows{$_} } @bob_rows), 0, 'none of Ann\'s rows go to Bob');
my ($skips) = grep { $teams[$_] =~ /FROM hitl\.skips/ } 0 .. $#teams;
like($tm[$skips], qr/^\{"id": \d+\}\|ann\|two issues in one ticket$/m, 'Ann\'s skip is logged')
  or diag($tm[$skips]);

# Simulating a campaign replays the labeled tickets
my @sm = run_blocks('Simulating a campaign', @simulate);
like($sm[0], qr/^margin\|/m, 'the simulation summarizes margin') or diag($sm[0]);
like($sm[0], qr/\nt$/, 'and draws its curves') or diag($sm[0]);

my @tx = run_blocks('Text', @text);
($create) = grep { $text[$_] =~ /hitl\.create_model\('inbox',/ } 0 .. $#text;
is($tx[$create], '1', 'the naive Bayes model trains version 1 at once');
my ($terms) = grep { $text[$_] =~ /hitl\.text_terms/ } 0 .. $#text;
is($tx[$terms], '{refund,process,"refund process"}', 'text_terms gives the terms the README shows');
my ($lr) = grep { $text[$_] =~ /hitl\.create_model\('inbox_lr'/ } 0 .. $#text;
is($tx[$lr], '1', 'the logistic model trains version 1 at once');
my ($compare) = grep { $text[$_] =~ /topic_prediction, topic_lr/ } 0 .. $#text;
is(scalar(split /\n/, $tx[$compare]), 10, 'both models predicted the unlabeled rows');

$node->stop;
done_testing();

#!/usr/bin/env perl
#
# test/package/meta.pl: check META.json, the PGXN distribution metadata,
# against the PGXN Meta Spec 1.0.0 (https://pgxn.org/meta/spec.txt): the
# required fields and the form of every field hitl uses, and that the
# version it announces is the one the build installs (EXTVERSION in the
# Makefile, default_version in hitl.control) and the one of the Debian
# package (debian/changelog). PGXN's own validator is not packaged for
# Debian, so the rules it applies are written out here.
#
#     perl test/package/meta.pl [TREE]      (TREE: the source tree, default
#                                            the one this file belongs to)
#
# TAP output; needs only core Perl modules.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;
use Test::More;

my $tree = $ARGV[0] // File::Spec->catdir(dirname(File::Spec->rel2abs(__FILE__)), '..', '..');

# SemVer as PGXN takes it: MAJOR.MINOR.PATCH, no leading zeros, optional
# pre-release tag.
my $SEMVER = qr/^(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

# License strings the spec lists.
my %LICENSES = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2
  bsd freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0
  mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun zlib open_source restricted
  unrestricted unknown);

# Top-level keys the spec defines; others must start with x_ or X_.
my %KEYS = map { $_ => 1 } qw(name abstract description version maintainer license
  provides prereqs release_status resources generated_by tags no_index meta-spec);

# Read a whole file, or undef when it cannot be read.
sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return undef;
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

# Is VALUE a non-empty string, or a non-empty array of non-empty strings?
sub string_or_strings
{
	my ($value) = @_;
	return 1 if defined $value && !ref $value && $value ne '';
	return 0 unless ref $value eq 'ARRAY' && @$value;
	return !grep { !defined $_ || ref $_ || $_ eq '' } @$value;
}

# Does the file named by a relative unix path exist in the tree?
sub tree_has
{
	my ($relpath) = @_;
	return defined $relpath && !ref $relpath && $relpath !~ m{^/|(?:^|/)\.\.(?:/|$)}
	  && -f File::Spec->catfile($tree, split(m{/}, $relpath));
}

my $text = slurp("$tree/META.json");
ok(defined $text, 'META.json exists') or BAIL_OUT("no META.json in $tree");
my $meta = eval { JSON::PP->new->utf8->relaxed(0)->decode($text) };
is($@, '', 'META.json is valid JSON') or BAIL_OUT('META.json does not parse');
is(ref $meta, 'HASH', 'META.json is one JSON object');

# Required fields
for my $key (qw(name abstract version maintainer license provides meta-spec))
{
	ok(exists $meta->{$key}, "required field $key is present");
}
is_deeply([ grep { !$KEYS{$_} && !/^[xX]_/ } sort keys %$meta ], [],
	'every top-level key is one of the spec or starts with x_');

is(ref $meta->{'meta-spec'}, 'HASH', 'meta-spec is an object');
is($meta->{'meta-spec'}{version}, '1.0.0', 'meta-spec version is 1.0.0');

like($meta->{name} // '', qr{^[^\s/\\\x00-\x1f\x7f:]{2,}$},
	'name: at least 2 characters, no whitespace, slash, backslash, colon or control character');
is($meta->{name}, 'hitl', 'name is hitl');
ok(defined $meta->{abstract} && !ref $meta->{abstract} && $meta->{abstract} =~ /\S/,
	'abstract is a non-empty string');
like($meta->{version} // '', $SEMVER, 'version is a semantic version');
ok(string_or_strings($meta->{maintainer}), 'maintainer is a string or an array of strings');

my $license = $meta->{license};
ok((defined $license && !ref $license && $LICENSES{$license})
	  || (ref $license eq 'ARRAY' && @$license && !grep { ref $_ || !$LICENSES{$_} } @$license)
	  || (ref $license eq 'HASH' && %$license),
	'license is a license string of the spec (or a list of them, or an object of URLs)');
is($license, 'postgresql', 'license is postgresql, as LICENSE says');

# provides: each extension with its file and version
my $provides = $meta->{provides};
ok(ref $provides eq 'HASH' && %$provides, 'provides is a non-empty object');
for my $ext (sort keys %{ ref $provides eq 'HASH' ? $provides : {} })
{
	my $p = $provides->{$ext};
	is(ref $p, 'HASH', "provides.$ext is an object");
	ok(tree_has($p->{file}), "provides.$ext.file names a file of the distribution");
	like($p->{version} // '', $SEMVER, "provides.$ext.version is a semantic version");
	ok(!exists $p->{docfile} || tree_has($p->{docfile}),
		"provides.$ext.docfile, if given, names a file of the distribution");
}
ok(ref $provides eq 'HASH' && $provides->{hitl}, 'provides the extension hitl');

# prereqs: runtime requires PostgreSQL >= 15
my $prereqs = $meta->{prereqs};
is(ref $prereqs, 'HASH', 'prereqs is an object');
my %phases = map { $_ => 1 } qw(configure build test runtime develop);
my %relations = map { $_ => 1 } qw(requires recommends suggests conflicts);
my @bad;
for my $phase (sort keys %{ ref $prereqs eq 'HASH' ? $prereqs : {} })
{
	push(@bad, $phase) and next unless $phases{$phase} && ref $prereqs->{$phase} eq 'HASH';
	for my $rel (sort keys %{ $prereqs->{$phase} })
	{
		my $reqs = $prereqs->{$phase}{$rel};
		push(@bad, "$phase.$rel") and next unless $relations{$rel} && ref $reqs eq 'HASH';
		for my $what (sort keys %$reqs)
		{
			# a version range: "0", a version (meaning >=), or comparisons joined by commas
			my $range = $reqs->{$what} // '';
			push(@bad, "$phase.$rel.$what")
			  unless $range eq '0' || $range =~ $SEMVER
			  || $range =~ /^\s*(?:[<>]=?|[=!]=)\s*[0-9][0-9.a-z-]*(?:\s*,\s*(?:[<>]=?|[=!]=)\s*[0-9][0-9.a-z-]*)*\s*$/i;
		}
	}
}
is_deeply(\@bad, [], 'prereqs: known phases and relations, each requirement a version range');
my $pg = ref $prereqs eq 'HASH' ? $prereqs->{runtime}{requires}{PostgreSQL} // '' : '';
like($pg, qr/^(?:>=\s*)?15\.0\.0$/, 'prereqs: runtime requires PostgreSQL >= 15.0.0');

# resources
my $res = $meta->{resources};
ok(ref $res eq 'HASH' && %$res, 'resources is a non-empty object');
my %res_keys = (homepage => 1, bugtracker => 1, repository => 1);
is_deeply([ grep { !$res_keys{$_} && !/^[xX]_/ } sort keys %{ ref $res eq 'HASH' ? $res : {} } ], [],
	'resources: only homepage, bugtracker, repository (or x_ keys)');
ok(!exists $res->{homepage} || (!ref $res->{homepage} && $res->{homepage} =~ m{^https?://}),
	'resources.homepage, if given, is a URL');
ok(!exists $res->{bugtracker}
	  || (ref $res->{bugtracker} eq 'HASH'
		&& (($res->{bugtracker}{web} // '') =~ m{^https?://} || ($res->{bugtracker}{mailto} // '') =~ /^[^@\s]+@[^@\s]+$/)),
	'resources.bugtracker, if given, has a web URL or a mailto address');
ok(!exists $res->{repository}
	  || (ref $res->{repository} eq 'HASH' && ($res->{repository}{url} || $res->{repository}{web})),
	'resources.repository, if given, has a url or a web address');

# optional fields hitl uses
ok(!exists $meta->{release_status} || ($meta->{release_status} // '') =~ /^(?:stable|testing|unstable)$/,
	'release_status, if given, is stable, testing or unstable');
ok(!exists $meta->{tags}
	  || (ref $meta->{tags} eq 'ARRAY' && !grep { ref $_ || $_ eq '' || length($_) > 255 } @{ $meta->{tags} }),
	'tags, if given, is an array of strings of 1 to 255 characters');
ok(!exists $meta->{no_index}
	  || (ref $meta->{no_index} eq 'HASH'
		&& !grep { $_ !~ /^(?:file|directory)$/ || !string_or_strings($meta->{no_index}{$_}) }
		keys %{ $meta->{no_index} }),
	'no_index, if given, lists files and directories');

# One version everywhere
my $version = $meta->{version} // '';
is($provides->{hitl}{version}, $version, 'provides.hitl.version is the distribution version');
my ($extversion) = (slurp("$tree/Makefile") // '') =~ /^EXTVERSION\s*=\s*(\S+)\s*$/m;
is($extversion, $version, 'the Makefile builds that version (EXTVERSION)');
my ($default) = (slurp("$tree/hitl.control") // '') =~ /^\s*default_version\s*=\s*'([^']*)'/m;
is($default, $version, 'hitl.control installs that version (default_version)');
my ($debversion) = (slurp("$tree/debian/changelog") // '') =~ /^hitl \(([^)]+)\)/;
$debversion =~ s/-[^-]*$// if defined $debversion;    # the upstream part of a Debian version
is($debversion, $version, 'debian/changelog packages that version');

done_testing();

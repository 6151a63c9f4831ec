#!/usr/bin/env perl
#
# test/lint/shape.pl: checks the shape of hitl's C sources, as TAP.
#
#     perl test/lint/shape.pl SRC_DIR [OBJ_DIR]
#
# One assertion per source file for each rule:
#   - no file under src/ longer than 900 lines;
#   - no function longer than 150 lines (from its opening to its closing
#     brace, PostgreSQL style: both braces alone in column 0);
#   - no include cycle among hitl's own headers;
#   - no two object files that depend on each other, directly or through
#     others: the graph "file A uses a symbol file B defines" (read with nm
#     from the built objects, when OBJ_DIR is given) has no cycle.
use strict;
use warnings;

my $src = shift @ARGV or die "usage: shape.pl SRC_DIR [OBJ_DIR]\n";
my $obj = shift @ARGV;
my $MAX_FILE = 900;
my $MAX_FUNC = 150;

opendir(my $dh, $src) or die "cannot open $src: $!\n";
my @files = sort grep { /\.[ch]$/ } readdir $dh;
closedir $dh;

my $n = 0;
sub ok
{
	my ($pass, $name, @diag) = @_;
	$n++;
	print(($pass ? "ok" : "not ok") . " $n - $name\n");
	print "# $_\n" for @diag;
}

# Strongly connected components of more than one node (Tarjan), as sorted
# lists of node names.
sub cycles
{
	my ($g) = @_;
	my (%index, %low, %on, @stack, @out);
	my $i = 0;
	my $visit;
	$visit = sub {
		my ($v) = @_;
		$index{$v} = $low{$v} = $i++;
		push @stack, $v;
		$on{$v} = 1;
		for my $w (sort keys %{ $g->{$v} || {} })
		{
			if (!exists $index{$w})
			{
				$visit->($w);
				$low{$v} = $low{$w} if $low{$w} < $low{$v};
			}
			elsif ($on{$w})
			{
				$low{$v} = $index{$w} if $index{$w} < $low{$v};
			}
		}
		if ($low{$v} == $index{$v})
		{
			my @c;
			my $w;
			do
			{
				$w = pop @stack;
				$on{$w} = 0;
				push @c, $w;
			} while ($w ne $v);
			push @out, [ sort @c ] if @c > 1;
		}
	};
	$visit->($_) for grep { !exists $index{$_} } sort keys %$g;
	return @out;
}

my %includes;
for my $f (@files)
{
	open(my $fh, '<', "$src/$f") or die "cannot read $src/$f: $!\n";
	my @lines = <$fh>;
	close $fh;

	ok(@lines <= $MAX_FILE, "$f has at most $MAX_FILE lines",
		@lines > $MAX_FILE ? ("$f has " . scalar(@lines) . " lines") : ());

	my (@long, $name, $start);
	for my $k (0 .. $#lines)
	{
		my $l = $lines[$k];
		$name = $1 if $l =~ /^(\w+)\s*\(/;
		if ($l =~ /^\{\s*$/)
		{
			$start = $k;
		}
		elsif ($l =~ /^\}/ && defined $start)
		{
			my $len = $k - $start + 1;
			push @long, sprintf("%s: %d lines", $name // "?", $len)
				if $len > $MAX_FUNC;
			undef $start;
		}
		$includes{$f}{$1} = 1 if $l =~ /^#include "([^"]+)"/ && -e "$src/$1";
	}
	ok(!@long, "$f has no function over $MAX_FUNC lines", @long);
}

my @inc = cycles(\%includes);
ok(!@inc, "no include cycle among hitl's headers",
	map { "cycle: " . join(" ", @$_) } @inc);

if ($obj)
{
	my (%defines, %uses);
	opendir(my $oh, $obj) or die "cannot open $obj: $!\n";
	my @objs = sort grep { /\.o$/ } readdir $oh;
	closedir $oh;
	for my $o (@objs)
	{
		for my $l (`nm -g "$obj/$o"`)
		{
			if ($l =~ /^\s+U\s+(\S+)/) { $uses{$o}{$1} = 1 }
			elsif ($l =~ /^\S+\s+[A-TV-Z]\s+(\S+)/) { $defines{$1} = $o }
		}
	}
	my %g;
	for my $o (keys %uses)
	{
		for my $s (keys %{ $uses{$o} })
		{
			my $d = $defines{$s};
			$g{$o}{$d} = 1 if defined $d && $d ne $o;
		}
	}
	my @dep = cycles(\%g);
	ok(@objs > 0 && !@dep, "no two source files depend on each other",
		@objs ? () : ("no object files in $obj"),
		map { "cycle: " . join(" ", @$_) } @dep);
}
print "1..$n\n";

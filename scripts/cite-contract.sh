#!/usr/bin/env bash
# Rewrites citations of the product's SPEC.md and STORAGE.md (files outside this
# repository) into citations of the repository's own contract pages:
#
#   SPEC §4, SPEC.md §4, SPEC §4, §7      → docs/contract.md §4 (, §7)
#   SPEC.md, ../shared/SPEC.md, the SPEC  → docs/contract.md
#   STORAGE.md, ../shared/STORAGE.md      → docs/storage-contract.md
#   STORAGE.md "Postgres signals"         → docs/storage-contract.md §4 (section of that heading)
#
# docs/contract.md keeps SPEC.md's section numbers (§1-§9), so "SPEC §4" becomes
# "docs/contract.md §4" one to one. STORAGE.md has no numbers; docs/storage-contract.md
# numbers its four headings in the same order (§1 S3-compatible object store, §2 S3 raw
# source, §3 Postgres raw source, §4 Postgres signals), read from the page itself.
# A few phrases whose topic is unambiguous also get their section ("the SPEC's field
# order" → "the field order of docs/contract.md §5"; "(`raw_source.type: "s3"`,
# STORAGE.md)" → "docs/storage-contract.md §2").
#
# In Markdown under docs/ and in the top-level README.md a citation becomes a link
# ("[contract §4](contract.md#4-validation-gates)"); everywhere else plain text.
#
# Usage: scripts/cite-contract.sh [--dry-run] [path ...]
#   paths default to: src test bench docs README.md (those that exist)
#   --dry-run  prints what would change, writes nothing
#
# Prints every changed line (file:line, before, after) and a count. A changed line that
# does not look like a comment or Markdown (a string in code: an error message, a test
# title) is marked "[not a comment]" to be checked. Citations no rule recognises are
# listed as "left as is". Idempotent: a second run changes nothing.
set -euo pipefail

dry_run=0
paths=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "cite-contract.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) paths+=("$arg") ;;
  esac
done

self=$(realpath "$0")
root=$(cd "$(dirname "$self")/.." && pwd)
cd "$root"
if [ ${#paths[@]} -eq 0 ]; then
  for p in src test bench docs README.md; do [ -e "$p" ] && paths+=("$p"); done
fi
for p in docs/contract.md docs/storage-contract.md; do
  [ -f "$p" ] || { echo "cite-contract.sh: $p is missing: nothing to cite" >&2; exit 1; }
done

files=()
while IFS= read -r -d '' f; do
  [ "$(realpath "$f")" = "$self" ] && continue
  files+=("$f")
done < <(grep -rlZIE --exclude-dir=node_modules --exclude-dir=dist --exclude-dir=.git \
           'SPEC|STORAGE\.md|spec-silent-or-open' "${paths[@]}" 2>/dev/null || true)

if [ ${#files[@]} -eq 0 ]; then
  echo "no citations of SPEC or STORAGE.md under ${paths[*]}: nothing to do"
  exit 0
fi

DRY_RUN=$dry_run ROOT=$root perl - "${files[@]}" <<'PERL'
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

my $dry  = $ENV{DRY_RUN};
my $root = $ENV{ROOT};
my %page = (contract => 'docs/contract.md', storage => 'docs/storage-contract.md');
my %name = (contract => 'contract', storage => 'storage contract');

# Section number → anchor, and (storage) heading title → number, from the pages' headings
# "## §n Title" (GitHub's anchors: lower case, punctuation dropped, spaces → hyphens).
my (%anchor, %storage_section);
for my $which (keys %page) {
  open my $fh, '<', "$root/$page{$which}" or die "read $page{$which}: $!\n";
  while (<$fh>) {
    next unless /^## §(\d+) (.*?)\s*$/;
    my ($n, $title) = ($1, $2);
    (my $slug = lc "§$n $title") =~ s/[^a-z0-9 _-]//g;
    $slug =~ s/ /-/g;
    $anchor{$which}{$n} = $slug;
    $storage_section{$title} = $n if $which eq 'storage';
  }
}
my $headings = join '|', map { quotemeta } sort keys %storage_section;

my $file;      # the file being rewritten
my $links;     # Markdown links (docs/*.md, README.md) or plain text

# The citation of a page and optional sections, in the form the current file wants.
sub cite {
  my ($which, @sections) = @_;
  if (!$links) {
    return $page{$which} unless @sections;
    return "$page{$which} " . join(', ', map { "§$_" } @sections);
  }
  my $rel = File::Spec->abs2rel("$root/$page{$which}", dirname("$root/$file"));
  return "[$name{$which}]($rel)" unless @sections;
  my @parts;
  for my $i (0 .. $#sections) {
    my $n = $sections[$i];
    my $target = exists $anchor{$which}{$n} ? "$rel#$anchor{$which}{$n}" : $rel;
    push @parts, $i == 0 ? "[$name{$which} §$n]($target)" : "[§$n]($target)";
  }
  return join ', ', @parts;
}

# "§4, §7" → (4, 7)
sub sections { my $s = shift; return $s =~ /§(\d+)/g }

my $LIST = qr/§\d+(?:,\s*§\d+)*/;               # §4 or §4, §7
my $UP   = qr/(?:\.\.\/)*(?:shared\/)?/;          # ../shared/ and the like

sub rewrite {
  local $_ = shift;
  # In a Markdown link the code ticks of `SPEC.md` go; in plain text they stay.
  my $TICK = $links ? qr/`?/ : qr//;

  # ---- STORAGE.md --------------------------------------------------------------------
  # followed by one of its headings in quotes: the section of that heading
  s{$TICK${UP}\bSTORAGE\.md$TICK,?\s+"($headings)"}{cite('storage', $storage_section{$1})}ge if $headings ne '';
  # followed by sections
  s{$TICK${UP}\bSTORAGE\.md$TICK\s+($LIST)}{cite('storage', sections($1))}ge;
  # phrases whose backend is unambiguous
  s{(`raw_source\.type: "postgres"`, )${UP}\bSTORAGE\.md\b}{$1 . cite('storage', 3)}ge;
  s{(`raw_source\.type: "s3"`, )${UP}\bSTORAGE\.md\b}{$1 . cite('storage', 2)}ge;
  s{(Postgres (?:exposure log|source|raw source)[^()]*\()${UP}\bSTORAGE\.md\b}{$1 . cite('storage', 3)}ge;
  s{(Postgres signal tables \()${UP}\bSTORAGE\.md\b}{$1 . cite('storage', 4)}ge;
  s{(S3-compatible (?:object )?(?:store|bucket)[^()]*\()${UP}\bSTORAGE\.md\b}{$1 . cite('storage', 1)}ge;
  s{(<prefix>/<tenant>/<surface>/exposure\.[^()]*\()${UP}\bSTORAGE\.md\b}{$1 . cite('storage', 2)}ge;
  s{\bschema of ${UP}STORAGE\.md\b}{'schema of ' . cite('storage', 3, 4)}ge;
  # anything else: the page
  s{$TICK${UP}\bSTORAGE\.md\b$TICK}{cite('storage')}ge;

  # ---- SPEC --------------------------------------------------------------------------
  s{$TICK${UP}\bSPEC(?:\.md)?$TICK\s+($LIST)}{cite('contract', sections($1))}ge;   # SPEC §4, SPEC.md §4, §7
  s{\bSPEC section (\d+)}{cite('contract', $1)}ge;
  s{$TICK${UP}\bSPEC\.md\b$TICK}{cite('contract')}ge;                              # ../shared/SPEC.md
  # possessives: name the section the phrase is about
  s{\b([Tt])he SPEC's ("id asc"(?: [\w-]+)?|id order|field order|semantics)}{"$1he $2 of " . cite('contract', 5)}ge;
  s{\b([Tt])he SPEC's hard limits}{"$1he hard limits of " . cite('contract', 7)}ge;
  s{\b([Tt])he SPEC's\b}{$1he contract's}g;                     # any other: no section known
  s{\bSPEC's\b}{the contract's}g;
  # "the SPEC shape" is the manifest's shape wherever it is used today
  s{\bthe SPEC shape\b}{'the shape of ' . cite('contract', 6)}ge;
  s{\bin SPEC order\b}{'in the order of ' . cite('contract')}ge;
  # a heading of docs/artifacts.md, and the links to it
  s{\(SPEC silent or open\)}{(contract silent or open)}g;
  s{where-this-implementation-chose-spec-silent-or-open}{where-this-implementation-chose-contract-silent-or-open}g;
  # "the SPEC", "(SPEC / operator expectations)"
  s{\bthe SPEC\b}{cite('contract')}ge;
  s{\bSPEC\b}{cite('contract')}ge;
  return $_;
}

sub comment_like {
  my ($path, $line) = @_;
  return 1 if $path =~ /\.md$/i;
  return $line =~ m{^\s*(?://|/?\*|#|--)};
}

my ($changed_lines, $changed_files) = (0, 0);
my @leftovers;
for my $f (@ARGV) {
  $file  = $f =~ s{^\./}{}r;
  $links = $file =~ m{^(?:docs/.*|README)\.md$}i ? 1 : 0;
  open my $in, '<', $file or die "read $file: $!\n";
  my @lines = <$in>;
  close $in;
  my $dirty = 0;
  for my $i (0 .. $#lines) {
    my $before = $lines[$i];
    my $after  = rewrite($before);
    if ($after ne $before) {
      $dirty = 1;
      $changed_lines++;
      my ($old, $new) = map { s/^\s+|\s+$//gr } $before, $after;
      my $mark = comment_like($file, $before) ? '' : '  [not a comment]';
      print "$file:", $i + 1, ":$mark\n  - $old\n  + $new\n";
      $lines[$i] = $after;
    }
    push @leftovers, "$file:" . ($i + 1) . ': ' . ($lines[$i] =~ s/^\s+|\s+$//gr)
      if $lines[$i] =~ /\bSPEC\b|STORAGE\.md/;
  }
  next unless $dirty;
  $changed_files++;
  next if $dry;
  my $tmp = "$file.cite-contract.$$";
  open my $out, '>', $tmp or die "write $tmp: $!\n";
  print $out @lines;
  close $out or die "write $tmp: $!\n";
  chmod((stat $file)[2] & 07777, $tmp);
  rename $tmp, $file or die "rename $tmp: $!\n";
}

print(($dry ? 'would change' : 'changed'), " $changed_lines line(s) in $changed_files file(s)\n");
if (@leftovers) {
  print "left as is (no rule matched; edit by hand):\n";
  print "  $_\n" for @leftovers;
}
PERL

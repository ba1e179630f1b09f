#!/usr/bin/perl
# Driving libxraykit_c from Perl with FFI::Platypus (Debian: libffi-platypus-perl), no
# compiled glue: create a model, save and load it, classify an image file, and read the error
# for a file that is not an image.
#
# usage: perl examples/perl/predict_ffi.pl LIBXRAYKIT_C IMAGE
#
# Ownership as in xraykit.h: handles come out through an out-pointer (an opaque pointer here)
# and are freed with their _free function; the string from xrk_last_error() belongs to the
# library and is copied into a Perl string on return.
use strict;
use warnings;
use FFI::Platypus 2.00;
use File::Temp qw(tempdir);

my ($lib_path, $image) = @ARGV;
die "usage: $0 LIBXRAYKIT_C IMAGE\n" unless defined $image;
my $ffi = FFI::Platypus->new(api => 2, lib => [$lib_path]);

$ffi->attach(xrk_version => [] => 'string');
$ffi->attach(xrk_last_error => [] => 'string');
$ffi->attach(xrk_status_string => ['int'] => 'string');
$ffi->attach(xrk_classifier_create => ['string', 'string[]', 'size_t', 'opaque', 'opaque*'] => 'int');
$ffi->attach(xrk_classifier_save => ['opaque', 'string'] => 'int');
$ffi->attach(xrk_classifier_load => ['string', 'opaque*'] => 'int');
$ffi->attach(xrk_classifier_num_classes => ['opaque', 'size_t*'] => 'int');
$ffi->attach(xrk_classifier_predict_file => ['opaque', 'string', 'float[2]', 'size_t', 'sint32*'] => 'int');
$ffi->attach(xrk_classifier_free => ['opaque'] => 'void');

sub check {
  my ($status, $what) = @_;
  die sprintf("%s: %s: %s\n", $what, xrk_status_string($status), xrk_last_error()) if $status != 0;
}

print "xraykit ", xrk_version(), " through FFI::Platypus\n";
my $dir = tempdir(CLEANUP => 1);
my ($created, $model);
check(xrk_classifier_create('resnet18', ['NORMAL', 'PNEUMONIA'], 2, undef, \$created), 'create');
eval {
  check(xrk_classifier_save($created, "$dir/model.xrk"), 'save');
  check(xrk_classifier_load("$dir/model.xrk", \$model), 'load');
  1;
} or do { my $e = $@; xrk_classifier_free($created); die $e };
xrk_classifier_free($created);

my $ok = eval {
  my $k;
  check(xrk_classifier_num_classes($model, \$k), 'num_classes');
  die "expected 2 classes, got $k\n" unless $k == 2;
  my @probs = (0, 0);
  my $label;
  check(xrk_classifier_predict_file($model, $image, \@probs, 2, \$label), 'predict');
  printf "%s: class %d, probabilities %.4f, %.4f\n", $image, $label, @probs;
  die "implausible prediction\n" if abs($probs[0] + $probs[1] - 1) > 1e-4 || ($label != 0 && $label != 1);
  # A file that is not an image: a status, and the reason naming the file.
  open(my $fh, '>', "$dir/bad.jpeg") or die;
  print $fh "not an image at all";
  close $fh;
  my $status = xrk_classifier_predict_file($model, "$dir/bad.jpeg", \@probs, 2, \$label);
  my $message = xrk_last_error();
  print "bad file: ", xrk_status_string($status), ": $message\n";
  die "a bad file was not refused with its name\n" if $status == 0 || index($message, "$dir/bad.jpeg") < 0;
  1;
};
my $error = $@;
xrk_classifier_free($model);
die $error unless $ok;
print "perl example OK\n";

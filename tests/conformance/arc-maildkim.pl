#!/usr/bin/perl
# arc-maildkim.pl PORT < MESSAGE - Mail::DKIM's ARC verifier on one
# message, its DNS questions sent to the nsd on 127.0.0.1:PORT that serves
# the test zones.  Prints "RESULT<TAB>DETAIL" (result none, pass or fail).
use strict;
use warnings;

use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my $port = shift or die "usage: arc-maildkim.pl PORT < message\n";
Mail::DKIM::DNS::resolver(
	Net::DNS::Resolver->new(
		nameservers => ['127.0.0.1'],
		port        => $port,
		recurse     => 0,
		retry       => 1,
		udp_timeout => 5,
		tcp_timeout => 5
	)
);
binmode STDIN;
my $msg = do { local $/; <STDIN> };
$msg =~ s/\r?\n/\r\n/g;
# Strict: no rsa-sha1, no RSA key under 1024 bits (as RFC 8301 and this
# project's verifier).
my $arc = Mail::DKIM::ARC::Verifier->new( Strict => 1 );
$arc->PRINT($msg);
$arc->CLOSE;
my $detail = $arc->result_detail // '';
$detail =~ s/\s+/ /g;
print $arc->result, "\t", $detail, "\n";

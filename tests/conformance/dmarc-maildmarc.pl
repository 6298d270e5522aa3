#!/usr/bin/perl
# dmarc-maildmarc.pl - cross-checks our RFC 7489 mode against Mail::DMARC.
#
#   dmarc-maildmarc.pl generate DIR COUNT
#       writes DIR/zones/*.zone (DMARC records of generated domains) and
#       DIR/cases (one case a line: id, From domain, SPF result and domain,
#       DKIM d=:result list)
#   dmarc-maildmarc.pl compare DIR PORT DMARCCHECK
#       evaluates every case with Mail::DMARC::PurePerl and with DMARCCHECK
#       --mode rfc7489, both asking nsd on 127.0.0.1:PORT, and prints TAP:
#       one test per case, result and disposition must agree.
#
# The generator avoids what Mail::DMARC reads differently from RFC 7489
# (several records, an invalid p= with rua=, DNS failures: see PEERS.md)
# and what it does beyond it (a From domain whose Organizational Domain has
# no address or MX is "none" there, so every generated domain has an A
# record); pct= is only 0, 100 or absent, so no random draw decides.
use strict;
use warnings;

use JSON::PP ();

my @SUFFIXES = ('net', 'net', 'org', 'co.uk', 'github.io');

sub pick { return $_[ int(rand(scalar @_)) ]; }

sub record {
    my @tags = ('v=DMARC1', 'p=' . pick('none', 'quarantine', 'reject'));
    push @tags, 'sp=' . pick('none', 'quarantine', 'reject') if rand() < 0.5;
    push @tags, 'adkim=s' if rand() < 0.4;
    push @tags, 'aspf=s' if rand() < 0.4;
    my $pct = rand();
    push @tags, 'pct=0' if $pct < 0.15;
    push @tags, 'pct=100' if $pct >= 0.15 && $pct < 0.3;
    push @tags, 'rua=mailto:agg@example.net' if rand() < 0.3;
    return join('; ', @tags);
}

sub generate {
    my ($dir, $count) = @_;
    srand(7489);
    my (%zone, @cases);
    for my $i (1 .. $count) {
        my $suffix = pick(@SUFFIXES);
        my $org    = "o$i.$suffix";
        my $other  = 'o' . ($i + 1) . ".$suffix";
        my $from   = rand() < 0.4 ? "s.$org" : $org;
        push @{ $zone{$suffix} }, "$org. A 192.0.2.1";
        push @{ $zone{$suffix} }, "_dmarc.$org. TXT \"" . record() . '"' if rand() < 0.85;
        push @{ $zone{$suffix} }, "_dmarc.$from. TXT \"" . record() . '"'
            if $from ne $org && rand() < 0.3;
        my @ids = ($from, $org, "m.$org", $other, 'x.unrelated.net');
        my $spf = join(' ', pick('pass', 'pass', 'fail', 'none'), pick(@ids));
        my @dkim = map { pick(@ids) . ':' . pick('pass', 'pass', 'fail') } 1 .. int(rand(3));
        push @cases, join("\t", $i, $from, $spf, join(',', @dkim));
    }
    mkdir "$dir/zones" or die "mkdir: $!";
    for my $suffix (keys %zone) {
        open(my $z, '>', "$dir/zones/$suffix.zone") or die "$suffix.zone: $!";
        print $z "\$TTL 300\n$suffix. SOA ns.$suffix. hostmaster.$suffix. 1 3600 600 86400 300\n";
        print $z "$suffix. NS ns.$suffix.\nns.$suffix. A 127.0.0.1\n";
        print $z "$_\n" for @{ $zone{$suffix} };
        close($z);
    }
    open(my $c, '>', "$dir/cases") or die "cases: $!";
    print $c "$_\n" for @cases;
    close($c);
}

sub peer {
    my ($resolver, $from, $spf_result, $spf_domain, @dkim) = @_;
    require Mail::DMARC::PurePerl;
    my $d = Mail::DMARC::PurePerl->new;
    $d->set_resolver($resolver);
    $d->header_from($from);
    $d->spf(domain => $spf_domain, scope => 'mfrom', result => $spf_result);
    $d->dkim([ map { { domain => $_->[0], selector => 's', result => $_->[1] } } @dkim ]);
    my $r = $d->validate;
    return ($r->result, $r->disposition);
}

sub ours {
    my ($tool, $port, $from, $spf_result, $spf_domain, @dkim) = @_;
    my @args = ($tool, '--mode', 'rfc7489', '--dns-server', "127.0.0.1:$port", '--from', $from,
        '--spf-result', $spf_result, '--spf-domain', $spf_domain);
    push @args, '--dkim', "$_->[0]:$_->[1]" for @dkim;
    open(my $p, '-|', @args) or die "$tool: $!";
    my $json = do { local $/; <$p> };
    close($p);
    my $o = eval { JSON::PP::decode_json($json) } or return ('no output', '');
    return ($o->{result}, $o->{disposition});
}

sub compare {
    my ($dir, $port, $tool) = @_;
    require Net::DNS::Resolver;
    my $resolver = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port,
        dnsrch => 0, defnames => 0, retry => 2, udp_timeout => 2, tcp_timeout => 2);
    open(my $c, '<', "$dir/cases") or die "cases: $!";
    my @cases = <$c>;
    close($c);
    print '1..', scalar @cases, "\n";
    my $failed = 0;
    for my $line (@cases) {
        chomp $line;
        my ($id, $from, $spf, $dkim) = split /\t/, $line, -1;
        my ($spf_result, $spf_domain) = split / /, $spf;
        my @dkim = map { [ split /:/ ] } grep { length } split /,/, $dkim;
        my @want = peer($resolver, $from, $spf_result, $spf_domain, @dkim);
        my @got  = ours($tool, $port, $from, $spf_result, $spf_domain, @dkim);
        my $name = "case $id: From $from, spf $spf, dkim " . ($dkim || '-');
        if ("@got" eq "@want") {
            print "ok $id - $name: @got\n";
        } else {
            $failed++;
            print "not ok $id - $name\n# Mail::DMARC: @want\n# ours:        @got\n";
        }
    }
    return $failed ? 1 : 0;
}

my $cmd = shift @ARGV // '';
if ($cmd eq 'generate' && @ARGV == 2) {
    generate(@ARGV);
    exit 0;
}
exit compare(@ARGV) if $cmd eq 'compare' && @ARGV == 3;
die "usage: $0 generate DIR COUNT | compare DIR PORT DMARCCHECK\n";

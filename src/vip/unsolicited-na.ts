// The IPv6 counterpart of a gratuitous ARP: one unsolicited neighbour advertisement (RFC 4861
// §7.2.6: solicited flag clear, override flag set, the target link-layer address option) for the
// VIP, sent from the VIP to all nodes (ff02::1) on the interface with hop limit 255, so every
// neighbour that has an entry for the VIP points it at this host's MAC at once.
//
// Why a Perl script: Node cannot open raw ICMPv6 sockets, and Debian ships no `ndsend` (its
// `ndisc6` package only solicits); `perl-base` is Essential in Debian, so the interpreter and its
// Socket module are on every host. The kernel fills in the ICMPv6 checksum of a raw ICMPv6
// socket (RFC 3542 §3.1). Binding to the VIP makes it the source address, which the kernel
// allows only while the address is on an interface: announcing an address we do not hold fails.

/** Run as `perl -e UNSOLICITED_NA_SCRIPT ADDRESS DEV`; exits non-zero with one line on stderr. */
export const UNSOLICITED_NA_SCRIPT = `
use strict; use warnings;
use Socket qw(AF_INET6 SOCK_RAW IPPROTO_IPV6 IPV6_MULTICAST_HOPS IPV6_MULTICAST_IF inet_pton pack_sockaddr_in6);
my ($addr, $dev) = @ARGV;
die "usage: perl -e SCRIPT ADDRESS DEV\\n" unless defined $dev;
sub slurp { my $f = shift; open(my $h, '<', $f) or die "cannot read $f: $!\\n"; my $v = <$h>; chomp $v; return $v; }
my $index = slurp("/sys/class/net/$dev/ifindex");
my $mac = pack('H12', join('', split(/:/, slurp("/sys/class/net/$dev/address"))));
my $target = inet_pton(AF_INET6, $addr) // die "not an IPv6 address: $addr\\n";
socket(my $s, AF_INET6, SOCK_RAW, 58) or die "cannot open a raw ICMPv6 socket (needs CAP_NET_RAW): $!\\n";
setsockopt($s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, pack('i', 255)) or die "cannot set hop limit 255: $!\\n";
setsockopt($s, IPPROTO_IPV6, IPV6_MULTICAST_IF, pack('i', $index)) or die "cannot choose interface $dev: $!\\n";
bind($s, pack_sockaddr_in6(0, $target)) or die "cannot send from $addr (not on this host?): $!\\n";
my $na = pack('CCnN', 136, 0, 0, 0x20000000) . $target . pack('CC', 2, 1) . $mac;
send($s, $na, 0, pack_sockaddr_in6(0, inet_pton(AF_INET6, 'ff02::1'), $index)) or die "cannot send on $dev: $!\\n";
`;

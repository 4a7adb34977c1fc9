// SPDX-License-Identifier: GPL-2.0-or-later

// goct: a conntrack client on vishvananda/netlink (the library Kubernetes
// components use to list and delete conntrack entries), built by the tests
// from Debian's golang-github-vishvananda-netlink-dev. Go's runtime makes raw
// system calls: no LD_PRELOAD shim sees its sockets.
//
//	goct list            one line per IPv4 entry: "PROTO SRC DST SPORT DPORT"
//	goct delete SRC      delete every IPv4 entry whose original source is SRC;
//	                     prints the number matched
//
// Exit 0 on success, 2 with "goct: ..." on stderr on any error.
package main

import (
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func fail(err error) {
	fmt.Fprintf(os.Stderr, "goct: %v\n", err)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: goct list | delete SRC"))
	}
	switch os.Args[1] {
	case "list":
		flows, err := netlink.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
		if err != nil {
			fail(err)
		}
		for _, f := range flows {
			fmt.Printf("%d %s %s %d %d\n", f.Forward.Protocol, f.Forward.SrcIP,
				f.Forward.DstIP, f.Forward.SrcPort, f.Forward.DstPort)
		}
	case "delete":
		filter := &netlink.ConntrackFilter{}
		if err := filter.AddIP(netlink.ConntrackOrigSrcIP, net.ParseIP(os.Args[2])); err != nil {
			fail(err)
		}
		n, err := netlink.ConntrackDeleteFilter(netlink.ConntrackTable, unix.AF_INET, filter)
		if err != nil {
			fail(err)
		}
		fmt.Println(n)
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

import socket

from tests.netns import in_netns, veth_pair


def test_udp_datagram_crosses_veth_between_namespaces():
    with veth_pair() as (a, b):
        with in_netns(b.netns):
            rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            rx.bind(("::", 0))
        with in_netns(a.netns):
            tx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        port = rx.getsockname()[1]
        with in_netns(a.netns):  # interface indexes are per namespace
            tx.sendto(b"ping", (b.link_local, port, 0, socket.if_nametoindex(a.ifname)))
        rx.settimeout(2)
        data, sender = rx.recvfrom(16)
        assert data == b"ping"
        assert sender[0].split("%")[0] == a.link_local
        rx.close()
        tx.close()

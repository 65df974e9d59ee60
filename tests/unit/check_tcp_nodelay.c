/* SPDX-License-Identifier: Apache-2.0 */
/* TCP_NODELAY on the broker connection (tcp_nodelay.c): set on the sockets connected to the
 * named peer port, and on no other. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fota/tcp_nodelay.h"
#include "testutil.h"

struct pair {
	int listener, client, server;
	uint16_t port;
};

/* A loopback listener on a free port and one connection to it. */
static void pair_open(struct pair *p)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->listener = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(p->listener, 0);
	ck_assert_int_eq(bind(p->listener, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(p->listener, 1), 0);
	ck_assert_int_eq(getsockname(p->listener, (struct sockaddr *)&a, &len), 0);
	p->port = ntohs(a.sin_port);
	p->client = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(p->client, 0);
	ck_assert_int_eq(connect(p->client, (struct sockaddr *)&a, sizeof(a)), 0);
	p->server = accept(p->listener, NULL, NULL);
	ck_assert_int_ge(p->server, 0);
}

static void pair_close(struct pair *p)
{
	close(p->client);
	close(p->server);
	close(p->listener);
}

static int nodelay(int fd)
{
	int on = -1;
	socklen_t len = sizeof(on);

	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	return on;
}

START_TEST(test_only_the_peer_port)
{
	struct pair broker, other;

	pair_open(&broker);
	pair_open(&other);
	ck_assert_int_eq(nodelay(broker.client), 0); /* the kernel's default: Nagle on */
	ck_assert_int_eq(fota_tcp_nodelay_peer_port(broker.port), 1);
	ck_assert_int_ne(nodelay(broker.client), 0);
	/* Another connection, the accepted end and the listener are left as they were. */
	ck_assert_int_eq(nodelay(other.client), 0);
	ck_assert_int_eq(nodelay(broker.server), 0);
	/* No socket to that port: nothing set. */
	pair_close(&broker);
	ck_assert_int_eq(fota_tcp_nodelay_peer_port(broker.port), 0);
	pair_close(&other);
}
END_TEST

static Suite *tcp_nodelay_suite(void)
{
	Suite *s = suite_create("tcp_nodelay");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_only_the_peer_port);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(tcp_nodelay_suite());
}

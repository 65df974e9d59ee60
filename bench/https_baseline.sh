# SPDX-License-Identifier: Apache-2.0
# The HTTPS baseline the benchmarks compare against: nginx serving a file over TLS with client
# certificates (the broker's certificate and CA from $FOTA_PKI), fetched by curl. Sourced by
# bench/run.sh and bench/slow_link.sh after tests/integration/lib.sh; needs $T.

secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1000}'; }

NGINX_PID=""
NGINX_ADDR=${NGINX_ADDR:-127.0.0.1}
# HTTPS_CLIENT_WRAP: a command curl runs under (e.g. "ip netns exec NS"), empty for none.
HTTPS_CLIENT_WRAP=${HTTPS_CLIENT_WRAP:-}

# nginx_start: nginx on a free port of $NGINX_ADDR, serving $T/nginx/www.
nginx_start() {
	local port dir=$T/nginx
	mkdir -p "$dir/www" "$dir/tmp"
	port=$(fota__free_port)
	cat >"$dir/nginx.conf" <<-EOF
		$([ "$(id -u)" = 0 ] && echo "user root;")
		worker_processes 2;
		daemon off;
		pid $dir/nginx.pid;
		error_log $dir/error.log;
		events { worker_connections 256; }
		http {
		  access_log off;
		  sendfile on;
		  client_body_temp_path $dir/tmp;
		  proxy_temp_path $dir/tmp;
		  fastcgi_temp_path $dir/tmp;
		  uwsgi_temp_path $dir/tmp;
		  scgi_temp_path $dir/tmp;
		  server {
		    listen $NGINX_ADDR:$port ssl;
		    ssl_protocols TLSv1.2 TLSv1.3;
		    ssl_certificate $FOTA_PKI/broker.crt;
		    ssl_certificate_key $FOTA_PKI/broker.key;
		    ssl_client_certificate $FOTA_PKI/ca.crt;
		    ssl_verify_client on;
		    root $dir/www;
		  }
		}
	EOF
	nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/stdout.log" 2>&1 &
	NGINX_PID=$!
	fota_cleanup_pid "$NGINX_PID" QUIT
	NGINX_PORT=$port
	fota_wait_for 10 fota__port_busy "$port" || fail "nginx did not start (see $dir/error.log)"
}

# https_get FILE: seconds for curl with a client certificate to fetch FILE from nginx.
https_get() {
	local file=$1 crt key t0 t1
	read -r crt key < <(fota_cert dev-1)
	[ -n "$NGINX_PID" ] || nginx_start
	ln -f "$file" "$T/nginx/www/image.bin" 2>/dev/null || cp "$file" "$T/nginx/www/image.bin"
	t0=$(fota_now_ms)
	$HTTPS_CLIENT_WRAP curl -sf --cacert "$FOTA_PKI/ca.crt" --cert "$crt" --key "$key" \
		-o "$T/curl.bin" "https://$NGINX_ADDR:$NGINX_PORT/image.bin" || fail "curl failed"
	t1=$(fota_now_ms)
	cmp -s "$T/curl.bin" "$file" || fail "curl fetched a different file"
	rm -f "$T/curl.bin"
	R=$(secs "$t0" "$t1")
}

# fota-orchestrator: the system user the daemon runs as, owning its state directory. Purge
# keeps the user (its uid may own files elsewhere), as Debian packages do.
if [ "$1" = configure ]; then
	if ! getent passwd fota-orchestrator >/dev/null; then
		useradd --system --user-group --home-dir /var/lib/fota-orchestrator \
			--no-create-home --shell /usr/sbin/nologin fota-orchestrator
	fi
	chown fota-orchestrator:fota-orchestrator /var/lib/fota-orchestrator
	chmod 0750 /var/lib/fota-orchestrator
fi

#!/bin/sh
# mmdebstrap customize hook for berth-fixture/servers:1. $1 is the root of the new file system.
# Runs on the host, before mmdebstrap's final cleanup (which is told to leave /run alone).
set -eu
root="$1"

# Debian's packages initialise data at install time; a new named volume would be seeded from it
# and the entrypoints would skip their first-run initialisation.
find "$root/var/lib/mysql" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15"

# PostgreSQL's JIT provider is the only user of libLLVM (~100 MB) and z3; without llvmjit.so
# PostgreSQL silently runs without JIT.
rm -rf "$root/usr/lib/postgresql/15/lib/llvmjit.so" "$root/usr/lib/postgresql/15/lib/llvmjit_types.bc" \
  "$root/usr/lib/postgresql/15/lib/bitcode"
for pkg in libllvm14 libz3-4; do
  if chroot "$root" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    chroot "$root" dpkg --purge --force-depends "$pkg" >/dev/null 2>&1
  fi
done

# Runtime directories that the packages' init scripts would normally create.
install -d -m 0755 "$root/run/php"
install -d -m 0755 "$root/run/mysqld"
install -d -m 2775 "$root/run/postgresql"
chroot "$root" chown mysql:mysql /run/mysqld
chroot "$root" chown postgres:postgres /run/postgresql

# nginx: /etc/nginx/conf.d/*.conf is the place for sites, as in the official image.
rm -f "$root/etc/nginx/sites-enabled/default"

# Nothing in a container runs services through invoke-rc.d.
rm -f "$root/usr/sbin/policy-rc.d"

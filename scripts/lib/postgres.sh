# shellcheck shell=bash
# Sourced by scripts/test and scripts/with-postgres. `admit_pg_ensure` makes sure DATABASE_URL
# points at a PostgreSQL server where tests may create databases, in this order:
#
#   1. DATABASE_URL already set          -> checked and used as is;
#   2. 127.0.0.1:5432 accepts user postgres without a password -> used;
#   3. otherwise a private throwaway cluster is started in a temporary directory on a free port,
#      and stopped and deleted when the calling script exits (EXIT/INT/TERM traps are set here).
#
# If none of that works it fails with a message; tests are never skipped.
#
# ADMIT_PG_PROBE_PORT overrides the port probed in step 2 (point it at a closed port to force
# the throwaway cluster).

ADMIT_PG_DIR=""     # temporary directory of the private cluster, when one was started
ADMIT_PG_BINDIR=""  # where its initdb/pg_ctl live
ADMIT_PG_AS=()      # prefix to run the server binaries as the postgres user, when we are root

admit_pg_log() { printf 'postgres: %s\n' "$*" >&2; }
admit_pg_die() { printf 'postgres: error: %s\n' "$*" >&2; exit 1; }

# Prints a URL with its password hidden.
admit_pg_redact() { sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#' <<<"$1"; }

# Prints the newest directory holding initdb and pg_ctl (Debian keeps them off PATH).
admit_pg_bindir() {
    local dir
    while read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r)
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

# Succeeds when URL accepts a login and a query. Without psql it can only check that the port
# answers (the tests then report a failed login clearly).
admit_pg_accepts() {
    local url=$1 psql port
    psql=$(command -v psql || true)
    if [[ -z $psql ]]; then
        psql=$(compgen -G '/usr/lib/postgresql/*/bin/psql' | sort -V -r | head -n 1 || true)
    fi
    if [[ -n $psql ]]; then
        PGCONNECT_TIMEOUT=5 "$psql" -X -w -q -At -d "$url" -c 'SELECT 1' >/dev/null
    else
        port=$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$url")
        timeout 3 bash -c ": </dev/tcp/127.0.0.1/$port" 2>/dev/null
    fi
}

admit_pg_port_answers() {
    timeout 3 bash -c ": </dev/tcp/127.0.0.1/$1" 2>/dev/null
}

admit_pg_cleanup() {
    [[ -n $ADMIT_PG_DIR ]] || return 0
    admit_pg_log "stopping the private cluster"
    "${ADMIT_PG_AS[@]}" "$ADMIT_PG_BINDIR/pg_ctl" -D "$ADMIT_PG_DIR/data" -m immediate stop \
        >/dev/null 2>&1 || true
    rm -rf "$ADMIT_PG_DIR"
    ADMIT_PG_DIR=""
}

admit_pg_start_private() {
    ADMIT_PG_BINDIR=$(admit_pg_bindir) || admit_pg_die \
        "no PostgreSQL server is available and no server binaries (initdb, pg_ctl) are installed.
  scripts/setup installs them (Debian package 'postgresql'); or set DATABASE_URL to a server
  where you may create databases."

    local base=${TMPDIR:-/tmp}
    if [[ $(id -u) -eq 0 ]]; then
        # PostgreSQL refuses to run as root: run it as the postgres user from a directory it owns.
        getent passwd postgres >/dev/null ||
            admit_pg_die "running as root, but there is no 'postgres' user to run the private cluster"
        ADMIT_PG_AS=(runuser -u postgres --)
        if ! runuser -u postgres -- test -x "$base"; then base=/tmp; fi
    fi
    ADMIT_PG_DIR=$(mktemp -d "$base/admit-pg.XXXXXX")
    trap admit_pg_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if ((${#ADMIT_PG_AS[@]})); then chown postgres: "$ADMIT_PG_DIR"; fi

    admit_pg_log "starting a private throwaway cluster in $ADMIT_PG_DIR ($ADMIT_PG_BINDIR)"
    if ! "${ADMIT_PG_AS[@]}" "$ADMIT_PG_BINDIR/initdb" -D "$ADMIT_PG_DIR/data" -U postgres \
        --auth=trust -E UTF8 --no-locale >"$ADMIT_PG_DIR/initdb.log" 2>&1; then
        cat "$ADMIT_PG_DIR/initdb.log" >&2
        admit_pg_die "initdb failed"
    fi

    # Durability is pointless for a throwaway cluster; turning it off makes tests faster.
    local attempt port
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        if admit_pg_port_answers "$port"; then continue; fi
        if "${ADMIT_PG_AS[@]}" "$ADMIT_PG_BINDIR/pg_ctl" -D "$ADMIT_PG_DIR/data" -w -t 60 \
            -l "$ADMIT_PG_DIR/server.log" \
            -o "-p $port -k $ADMIT_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" \
            -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
            admit_pg_log "private cluster up: DATABASE_URL=$DATABASE_URL"
            return 0
        fi
        admit_pg_log "could not start on port $port (attempt $attempt); server log:"
        tail -n 5 "$ADMIT_PG_DIR/server.log" >&2 || true
    done
    admit_pg_die "the private cluster did not start (log: $ADMIT_PG_DIR/server.log)"
}

admit_pg_ensure() {
    if [[ -n ${DATABASE_URL:-} ]]; then
        admit_pg_accepts "$DATABASE_URL" ||
            admit_pg_die "DATABASE_URL is set to $(admit_pg_redact "$DATABASE_URL") but it does not accept a connection (see above); fix or unset it"
        admit_pg_log "using DATABASE_URL=$(admit_pg_redact "$DATABASE_URL")"
        return 0
    fi
    local port=${ADMIT_PG_PROBE_PORT:-5432}
    local url="postgres://postgres@127.0.0.1:$port/postgres"
    if admit_pg_accepts "$url" 2>/dev/null; then
        export DATABASE_URL=$url
        admit_pg_log "using the server on 127.0.0.1:$port: DATABASE_URL=$DATABASE_URL"
        return 0
    fi
    if admit_pg_port_answers "$port"; then
        admit_pg_log "127.0.0.1:$port answers but does not accept user postgres without a password (or is not PostgreSQL)"
    else
        admit_pg_log "nothing answers on 127.0.0.1:$port"
    fi
    admit_pg_start_private
}

"""Create the database named in DATABASE_URL if it is missing (scripts/setup.sh)."""

import os
import sys

import environ
import psycopg2
from psycopg2 import sql


def main() -> int:
    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    name = config["NAME"]
    try:
        conn = psycopg2.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        print(
            f"error: cannot connect to Postgres with DATABASE_URL: {exc}".strip()
            + "\nSet DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/votingsite for a server"
            " that needs a password.",
            file=sys.stderr,
        )
        return 1
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"==> Created database {name}")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

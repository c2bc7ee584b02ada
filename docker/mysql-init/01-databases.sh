#!/bin/bash
# Runs once, when the MySQL volume is first created: the Dagster storage database and
# the app database (shops, tags, incentives), both owned by MYSQL_USER.
set -euo pipefail
mysql -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CREATE DATABASE IF NOT EXISTS \`${DAGSTER_MYSQL_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS \`${YD_APP_DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON \`${DAGSTER_MYSQL_DB}\`.* TO '${MYSQL_USER}'@'%';
GRANT ALL PRIVILEGES ON \`${YD_APP_DB_NAME}\`.* TO '${MYSQL_USER}'@'%';
FLUSH PRIVILEGES;
SQL

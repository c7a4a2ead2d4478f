# kznews Airflow image: the official Airflow 3.3.2 image plus the project's pinned dependencies
# and code. Build: `docker compose build` (see docs/airflow.md).
FROM apache/airflow:3.3.2-python3.11

ENV KZNEWS_HOME=/opt/kznews \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/kznews/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/kznews/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DO_NOT_TRACK=1

USER root
RUN mkdir -p /opt/kznews/data /opt/kznews/warehouse \
    && chown -R airflow:0 /opt/kznews && chmod -R g+rwX /opt/kznews
USER airflow

# Dependencies first (own layer, rebuilt only when requirements.txt changes). The file pins
# apache-airflow==3.3.2 itself, so pip cannot up- or downgrade the image's Airflow.
COPY --chown=airflow:0 requirements.txt /opt/kznews/requirements.txt
RUN pip install --no-cache-dir -r /opt/kznews/requirements.txt

# The project: the kznews package (from plugins/), the DAGs, dbt project and the sample.
COPY --chown=airflow:0 pyproject.toml README.md /opt/kznews/
COPY --chown=airflow:0 plugins /opt/kznews/plugins
COPY --chown=airflow:0 dags /opt/kznews/dags
COPY --chown=airflow:0 dbt_project /opt/kznews/dbt_project
COPY --chown=airflow:0 sample /opt/kznews/sample
RUN pip install --no-cache-dir --no-deps -e /opt/kznews \
    && python -c "import kznews.pipeline, kznews.config"

# The dbt project parsed once into the image (dbt reads no data to parse; target/ is in the
# image, not on a volume). With KZNEWS_DBT_TASKS=per_model the DAG takes its model list from
# this manifest, so the tasks of an image always match the project it carries, not what the
# last build on the warehouse volume wrote.
RUN cd /opt/kznews/dbt_project \
    && dbt parse --project-dir . --profiles-dir . --target-path target \
        --log-path /tmp/dbt-logs --quiet \
    && test -s target/manifest.json

WORKDIR /opt/kznews

{#- The `where` config of data tests, with one placeholder of this project:

    __kznews_new_partitions__  becomes `load_date >= '<date>'` when kznews.warehouse tells
    the build (main.kznews_run_params.tests_from) that every earlier partition already
    passed the same tests in an earlier successful build of this file; otherwise `true`
    (a full refresh, a first build, a build by hand, a changed project).

    dbt_project.yml puts it on the tests of the staging models, which read the extracted
    Parquet partitions: a partition is written once per load date and tested on its night,
    so a nightly build reads the new partitions instead of the whole archive. Tests on
    tables (intermediate models, marts) always read the whole table (their rows can
    change).

    The date is read when the test runs, not when dbt parses the project (see
    macros/incremental.sql on why it is not a --vars value). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__kznews_new_partitions__' in where -%}
        {%- set where = where | replace('__kznews_new_partitions__', kznews_new_partitions()) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro kznews_new_partitions(column='load_date') -%}
    {%- set tests_from = none if flags.FULL_REFRESH else kznews_run_param('tests_from') -%}
    {%- if tests_from is none -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- do return(column ~ " >= cast('" ~ tests_from ~ "' as date)") -%}
{%- endmacro %}

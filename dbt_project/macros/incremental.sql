{#- Which load_date partitions an incremental model reads on this run.

    Full refresh or first run: every partition. Otherwise the load date of the run and
    everything newer, where the run's load date is, in order:

    1. var("load_date") (`dbt build --vars '{"load_date": "2026-11-22"}'`, by hand);
    2. the table main.kznews_run_params that kznews.warehouse writes into the build file
       before a build and drops after it (the earlier of the night's load date and the day
       after the newest one the last successful build processed: a failed night is caught up).
       The date reaches the SQL at run time, not at parse time: a --vars value that
       changes every night makes dbt re-parse the whole project;
    3. neither: the newest partition already held (held_column of {{ this }}) and
       everything newer. The newest held partition is re-read on purpose: delete+insert
       makes that a no-op when nothing changed and a repair when that night was
       re-extracted. A model with no held column (held_column=none) reads everything.

    kznews.warehouse forces a full refresh whenever the dbt project changed, so new model
    logic reaches every row, not only the rows a night touches.

    column: the load date column of the rows being read; held_column: the column of
    {{ this }} that records the newest load date a row came from. -#}
{% macro load_date_filter(column='load_date', held_column='load_date') -%}
    {%- if is_incremental() -%}
        {%- if var('load_date', '') | string | length > 0 -%}
            {{ column }} >= cast('{{ var("load_date") }}' as date)
        {%- else -%}
            {#- A literal, read when the node runs: DuckDB prunes the Hive partitions of a
                constant bound, but scans every partition for a subquery bound. -#}
            {%- set run_date = kznews_run_param('load_date') -%}
            {%- if run_date is not none -%}
            {{ column }} >= cast('{{ run_date }}' as date)
            {%- elif held_column and held_column in (
                adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
            {{ column }} >= (
                select coalesce(max({{ held_column }}), date '1900-01-01') from {{ this }}
            )
            {%- else -%}
            {#- no lineage column (or it predates it): read everything -#}
            true
            {%- endif -%}
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- One value of main.kznews_run_params, the row kznews.warehouse writes into the build file
    before a build (write_run_params): the column `name` (load_date, tests_from), or none
    when the table is absent (a build by hand), the value is null, or nothing executes
    (parsing). Read when the node runs, never at parse time. -#}
{% macro kznews_run_param(name) -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set run_params = adapter.get_relation(
        database=target.database, schema='main', identifier='kznews_run_params') -%}
    {%- if run_params is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return(run_query('select max(' ~ name ~ ') from ' ~ run_params).columns[0].values()[0]) -%}
{%- endmacro %}


{#- The partitions an incremental run must read to recompute the touched keys, as a constant
    predicate on `column`: the load dates of every row of `relations` whose `key` is among
    those `touched_sql` selects. The run then reads those partitions only, not the whole
    archive: DuckDB prunes Hive partitions of a constant list, while a subquery bound, or
    the touched keys themselves, make it read every partition (for the articles, every
    article body ever fetched, to keep 1% of them). A touched key's rows all lie in these
    partitions, so the result is the same. `true` while dbt parses; `false` when no row
    matches. Read when the node runs, like kznews_run_param. -#}
{% macro partitions_holding(touched_sql, relations, key='article_id', column='load_date') -%}
    {%- if not execute -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for relation in relations -%}
        {%- do parts.append('select ' ~ column ~ ' from ' ~ relation ~ ' where ' ~ key
            ~ ' in (' ~ touched_sql ~ ')') -%}
    {%- endfor -%}
    {%- set found = run_query('select distinct ' ~ column ~ ' from ('
        ~ parts | join(' union all ') ~ ') where ' ~ column ~ ' is not null order by 1') -%}
    {%- set literals = [] -%}
    {%- for value in found.columns[0].values() -%}
        {%- do literals.append("date '" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- if literals | length == 0 -%}
        {%- do return('false') -%}
    {%- endif -%}
    {%- do return(column ~ ' in (' ~ literals | join(', ') ~ ')') -%}
{%- endmacro %}


{#- `column` among the keys `keys_sql` selects, as a constant predicate: `column in ('a',
    'b', ...)`, the keys read when the node runs. DuckDB evaluates a constant list right
    after the scan, so a view's expressions (time zones, whitespace) are then computed only
    for the rows kept; with `column in (subquery)` it computes them for every row of the
    archive first (the listing aggregate at 100k pages: 0.47 -> 0.28 s for its query,
    same rows). Above `max_keys` keys (default the var in_keys_max, 10,000: ~10% of the
    100k site's articles, where a night touches ~2,200) the subquery is kept: the literal
    grows with the keys and was measured only at a night's size. `true` while dbt parses,
    `false` when no key matches. -#}
{% macro in_keys(column, keys_sql, max_keys=none) -%}
    {%- if not execute -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set max_keys = max_keys if max_keys is not none else var('in_keys_max', 10000) | int -%}
    {%- set found = run_query('select distinct k from (' ~ keys_sql ~ ') as keys(k)'
        ~ ' where k is not null order by 1 limit ' ~ (max_keys + 1)) -%}
    {%- set keys = found.columns[0].values() -%}
    {%- if keys | length > max_keys -%}
        {%- do return(column ~ ' in (' ~ keys_sql ~ ')') -%}
    {%- endif -%}
    {%- if keys | length == 0 -%}
        {%- do return('false') -%}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for key in keys -%}
        {%- do literals.append("'" ~ (key | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do return(column ~ ' in (' ~ literals | join(', ') ~ ')') -%}
{%- endmacro %}

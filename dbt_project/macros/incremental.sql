{#- Which load_date partitions an incremental model reads on this run.

    Full refresh or first run: every partition. Otherwise the partition named by
    var("load_date") and everything newer, or (no var) the newest partition already held
    and everything newer. The newest held partition is re-read on purpose: delete+insert
    makes that a no-op when nothing changed and a repair when that night was re-extracted.

    A table built before its lineage column existed is caught up from every partition
    (sync_all_columns then adds the column), so a model change needs no manual full refresh.

    column: the load date column of the rows being read; held_column: the column of
    {{ this }} that records the newest load date a row came from. -#}
{% macro load_date_filter(column='load_date', held_column='load_date') -%}
    {%- if is_incremental() -%}
        {%- if var('load_date', '') | string | length > 0 -%}
            {{ column }} >= cast('{{ var("load_date") }}' as date)
        {%- else -%}
            {%- set held = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
            {%- if held_column in held -%}
            {{ column }} >= (
                select coalesce(max({{ held_column }}), date '1900-01-01') from {{ this }}
            )
            {%- else -%}
            {#- the table predates its lineage column (a model change): read everything -#}
            true
            {%- endif -%}
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

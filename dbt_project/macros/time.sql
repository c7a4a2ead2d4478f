{#- Asia/Almaty local time. The site shows local times; Kazakhstan moved Almaty from
    UTC+6 to UTC+5 on 1 March 2024, so a fixed offset is wrong for one side of that day.
    DuckDB's ICU time-zone data knows the change. -#}

{#- A UTC timestamptz as a naive local (Asia/Almaty) timestamp. -#}
{% macro to_almaty(expr) -%}
    timezone('Asia/Almaty', {{ expr }})
{%- endmacro %}

{#- The local (Asia/Almaty) calendar date of a UTC timestamptz. -#}
{% macro almaty_date(expr) -%}
    cast(timezone('Asia/Almaty', {{ expr }}) as date)
{%- endmacro %}

{#- None of `columns` is null in any row. Fails with the offending rows.

    The staging models use it instead of one `not_null` test per column: their rules run on
    every build, nightly ones included, and each dbt test node costs ~0.1 s of dbt's own
    work whatever it reads. One node per model checks all of its required columns in one
    query over the same rows. The tables downstream enforce their not-null rules as
    constraints instead (models/marts/_marts__models.yml). -#}
{% test columns_not_null(model, columns) %}

select *
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}

{% endtest %}

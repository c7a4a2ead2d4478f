{#- Whether `rate` (KZT per unit of `currency`) lies in the plausible range of 2000-2026
    (docs/quality.md, "Why these numbers"): false for a lost decimal separator (425.67 read
    as 42567), a rate divided by 100, two currencies' columns swapped, or a currency
    without bounds. The check constraint on fct_exchange_rates.rate repeats these bounds
    (constraint expressions are not templated): keep the two equal. -#}
{% macro plausible_rate(currency, rate) -%}
    case {{ currency }}
        when 'USD' then {{ rate }} between 100 and 1000
        when 'EUR' then {{ rate }} between 100 and 1200
        when 'RUB' then {{ rate }} between 1 and 20
        when 'CNY' then {{ rate }} between 10 and 150
        else false
    end
{%- endmacro %}

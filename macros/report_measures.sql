{#-
    Measures the release report's models share (models/marts/report/): each formula here,
    once. Band columns come from waiting_measures(), in published order.
-#}

{#- `numerator` as a percentage of `denominator`, rounded to `digits`; null when the denominator is 0. -#}
{% macro percent(numerator, denominator, digits=1) -%}
    round(100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0), {{ digits }})
{%- endmacro %}

{#- The weeks-waited bands of every month (0-1 weeks to over 52 weeks; not the 52-104 / over-104 split). -#}
{% macro report_wait_bands() -%}
    {{ return(waiting_measures()[1:8]) }}
{%- endmacro %}

{#- Patients in the bands (blank bands as 0): all of them, or those up to 18 weeks (0-1 to 12-18 weeks). -#}
{% macro waiting_in_bands(within_18_weeks=false) -%}
    {%- set bands = report_wait_bands()[:5] if within_18_weeks else report_wait_bands() -%}
    {%- for band in bands %}coalesce({{ band }}, 0){{ ' + ' if not loop.last }}{% endfor -%}
{%- endmacro %}

{#- A service's heading without its "(A) " / "(CYP) " prefix (the category is a column of its own). -#}
{% macro service_name(label) -%}
    case
        when {{ label }} like '(A) %' then substr({{ label }}, 5)
        when {{ label }} like '(CYP) %' then substr({{ label }}, 7)
        else {{ label }}
    end
{%- endmacro %}

{#-
    The combination of `combination_of_columns` is unique. Nulls compare equal (a National
    row has no organisation code), unlike SQL's own uniqueness.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

keyed as (

    select
        {% for column in combination_of_columns -%}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '<null>') as {{ column }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from {{ model }}

),

duplicates as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count
    from keyed
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicates

{% endtest %}

{#-
    Every value of `column_names` lies within [min_value, max_value] (either bound may be
    none: unbounded); nulls pass. One scan of the model for all the columns; a failing row
    is returned whole, with `out_of_range_column` naming the first column out of range.
-#}
{% test columns_within_range(model, column_names, min_value=none, max_value=none) %}

with

checked as (

    select
        *,
        case
            {% for column in column_names -%}
                {% if min_value is not none %}when {{ column }} < {{ min_value }} then '{{ column }}' {% endif -%}
                {% if max_value is not none %}when {{ column }} > {{ max_value }} then '{{ column }}' {% endif -%}
            {% endfor %}
        end as out_of_range_column
    from {{ model }}

),

failing as (

    select * from checked
    where out_of_range_column is not null

)

select * from failing

{% endtest %}

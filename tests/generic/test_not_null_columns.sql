{#-
    None of `column_names` is null: one scan of the model for all of a model's required
    columns, instead of one `not_null` test (and one scan) per column. A failing row is
    returned whole, with `null_column` naming the first required column it lacks.
-#}
{% test not_null_columns(model, column_names) %}

with

checked as (

    select
        *,
        case
            {% for column in column_names %}when {{ column }} is null then '{{ column }}' {% endfor %}
        end as null_column
    from {{ model }}

),

failing as (

    select * from checked
    where null_column is not null

)

select * from failing

{% endtest %}

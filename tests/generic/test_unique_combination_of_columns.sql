{#-
    The combination of `combination_of_columns` is unique. Nulls compare equal (a National
    row has no organisation code), unlike SQL's own uniqueness: `group by` puts nulls in
    one group, so the columns are grouped as they are (no casts, which on PostgreSQL cost
    more than the grouping itself on the 950k-row staging table).
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

duplicates as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicates

{% endtest %}

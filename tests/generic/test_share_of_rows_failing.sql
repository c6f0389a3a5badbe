{#-
    Fails (returns the offending rows) only when the share of rows meeting `fails_when`,
    among rows meeting `applies_when`, exceeds `max_share`: overall, or in any group of
    rows with the same value of the `per` expression (e.g. per month). For checks where
    the source itself has a few known exceptions but a rising share means something broke.
    Apply it twice, a warn and an error threshold, with matching severities.
-#}
{% test share_of_rows_failing(model, fails_when, max_share, applies_when='1 = 1', per=none) %}

with

applicable as (

    select
        *,
        {{ per if per else "'all rows'" }} as share_group,
        case when {{ fails_when }} then 1 else 0 end as is_failing
    from {{ model }}
    where {{ applies_when }}

),

shares as (

    select
        share_group,
        sum(is_failing) as failing_rows,
        count(*) as applicable_rows
    from applicable
    group by share_group

)

select applicable.*
from applicable
inner join shares
    on applicable.share_group = shares.share_group
where
    applicable.is_failing = 1
    and shares.failing_rows > {{ max_share }} * shares.applicable_rows

{% endtest %}

{#-
    Fails (returns the offending rows) only when the share of rows meeting `fails_when`,
    among rows meeting `applies_when`, exceeds `max_share`. For checks where the source
    itself has a few known exceptions but a rising share means something broke.
    Apply it twice, a warn and an error threshold, with matching severities.
-#}
{% test share_of_rows_failing(model, fails_when, max_share, applies_when='1 = 1') %}

with

applicable as (

    select * from {{ model }}
    where {{ applies_when }}

),

failing as (

    select * from applicable
    where {{ fails_when }}

),

shares as (

    select
        (select count(*) from failing) as failing_rows,
        (select count(*) from applicable) as applicable_rows

)

select failing.*
from failing
cross join shares
where shares.failing_rows > {{ max_share }} * shares.applicable_rows

{% endtest %}

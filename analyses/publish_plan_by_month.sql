-- Publish plan per month: live rows to update, clear and leave unchanged, and
-- trust-months with community data that the live table lacks (listed, not created).
with

plan as (

    {{ live_publish_plan() }}

)

select
    period,
    count(*) filter (where action = 'update') as rows_to_update,
    count(*) filter (where action = 'clear') as rows_to_clear,
    count(*) filter (where action = 'unchanged') as rows_unchanged,
    count(*) filter (where action = 'missing') as trust_months_missing,
    count(*) filter (where action = 'not_in_mart') as live_rows_not_in_mart
from plan
where action != 'absent'
group by period
order by period

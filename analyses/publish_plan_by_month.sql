-- Publish plan per month: live rows to update, clear and leave unchanged, and
-- trust-months with community data that the live table lacks (listed, not created);
-- then the trust-months with community data in the marts and how many of them the live
-- table shows. `python -m loader publish` stops, changing nothing, when it shows fewer
-- than --min-found percent of them in all (a table the role cannot see passes the
-- coverage check otherwise: every trust-month is merely "missing").
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
    count(*) filter (where action = 'not_in_mart') as live_rows_not_in_mart,
    count(distinct trust_code) filter (where new_value is not null) as mart_trust_months,
    count(distinct trust_code) filter (
        where new_value is not null and action != 'missing'
    ) as mart_trust_months_in_live
from plan
where action != 'absent'
group by period
order by period

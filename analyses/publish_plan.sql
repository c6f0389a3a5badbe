-- Publish plan: for each trust-month of the mart or the live trust_metrics table, what
-- `python -m loader publish` does to the live row (update, clear, unchanged) or why it
-- leaves it (missing from the live table, not in the mart). macros/live_publish.sql.
with

plan as (

    {{ live_publish_plan() }}

)

select
    trust_code,
    period,
    live_id,
    action,
    previous_value,
    new_value
from plan
where action != 'absent'
order by period, trust_code

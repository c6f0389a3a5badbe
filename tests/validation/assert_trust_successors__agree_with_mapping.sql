-- The two mapping seeds agree: every predecessor in seeds/trust_successors.csv is listed
-- in seeds/trust_mapping.csv as `succeeded` (and every `succeeded` provider has a
-- successor), its successor is listed there too, and no successor is itself a
-- predecessor (a chain is written to its final successor). Known exceptions: none.
with

trust_mapping as (

    select * from {{ ref('trust_mapping') }}

),

trust_successors as (

    select * from {{ ref('trust_successors') }}

),

predecessors_not_succeeded as (

    select
        trust_successors.predecessor_code as org_code,
        'predecessor not listed as succeeded in trust_mapping' as problem
    from trust_successors
    left join trust_mapping
        on trust_successors.predecessor_code = trust_mapping.org_code
    where trust_mapping.match_reason is null or trust_mapping.match_reason != 'succeeded'

),

succeeded_without_successor as (

    select
        trust_mapping.org_code,
        'succeeded in trust_mapping, no row in trust_successors' as problem
    from trust_mapping
    left join trust_successors
        on trust_mapping.org_code = trust_successors.predecessor_code
    where trust_mapping.match_reason = 'succeeded' and trust_successors.predecessor_code is null

),

unknown_successors as (

    select
        trust_successors.successor_code as org_code,
        'successor not in trust_mapping' as problem
    from trust_successors
    left join trust_mapping
        on trust_successors.successor_code = trust_mapping.org_code
    where trust_mapping.org_code is null

),

chained_successors as (

    select
        trust_successors.successor_code as org_code,
        'successor is itself a predecessor: write the chain to its final successor' as problem
    from trust_successors
    inner join trust_successors as later
        on trust_successors.successor_code = later.predecessor_code

),

problems as (

    select * from predecessors_not_succeeded
    union all
    select * from succeeded_without_successor
    union all
    select * from unknown_successors
    union all
    select * from chained_successors

)

select * from problems

-- Every provider in the landed releases is listed in seeds/trust_mapping.csv. A warning,
-- not an error: a release that brings a new provider still builds, and the warning lists
-- the proposed seed rows (also: python -m loader propose-mapping) for a person to review.
{{ config(severity='warn', store_failures=true) }}

select * from {{ ref('trust_mapping_proposals') }}

select customer_id, sum(amount) as revenue, count(*) as order_count
from {{ ref('stg_orders') }}
group by customer_id

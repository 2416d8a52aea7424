"""The merchant's own customer groups (G1, G3, G5): rules evaluated set-wise in SQL,
members by hand, the change history and the member list."""

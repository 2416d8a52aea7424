"""Newsletters of the customer groups (PRODUCT.md G2): settings, the public sign-up with
double opt-in and its consent proof, and the expiry of unconfirmed sign-ups."""

from flask_wtf import FlaskForm


class ReleaseForm(FlaskForm):
    """Leaving a case for the list: only the CSRF token."""


class ClaimForm(FlaskForm):
    """Starting an action on a case (the page's script posts it): only the CSRF token."""

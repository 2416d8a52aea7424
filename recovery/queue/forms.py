from flask_wtf import FlaskForm


class ReleaseForm(FlaskForm):
    """Leaving a case for the list: only the CSRF token."""

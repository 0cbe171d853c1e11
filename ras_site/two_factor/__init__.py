"""Two-step sign-in (an authenticator app's codes, with one-time recovery codes), built on
django-otp. See README.md ("Two-step sign-in")."""

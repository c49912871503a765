"""The web app. Modules without 'panel' in their imports hold its logic and are testable without a browser."""

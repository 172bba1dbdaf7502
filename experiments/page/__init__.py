"""The dashboard's parts: interactive charts (`charts`), the cache of shipped scenarios' results
(`cache`), files read from and written to the browser (`files`); the app is `experiments.dashboard`."""

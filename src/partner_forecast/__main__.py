"""Allow ``python -m partner_forecast``."""

from partner_forecast.cli import main

if __name__ == "__main__":
    main()

"""The incentives dashboard: a Streamlit page over what the incentive assets wrote."""

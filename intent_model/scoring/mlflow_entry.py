"""Entry point MLflow runs to build the pyfunc model (models from code).

Not imported by the package: MLflow executes this file when it logs or
loads the model.
"""

from mlflow.models import set_model

from intent_model.scoring.pyfunc import LeadIntentPyfunc

set_model(LeadIntentPyfunc())

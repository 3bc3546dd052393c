"""Prompt analysis (features, language, complexity, domain, intent) and agent selection.

    analyzer = Analyzer()                      # loads the shipped model; Analyzer(AnalyzerSettings(...))
    analysis = analyzer.analyze(messages)      # pure, deterministic, tens of microseconds
    agent = AgentCoordinator().select(analysis)

Training, evaluation and the command line live in `training`, `evaluation` and `cli`.
"""

from router_service.analyzer.analysis import Analysis, PromptFeatures
from router_service.analyzer.analyzer import Analyzer
from router_service.analyzer.coordinator import Agent, AgentCoordinator
from router_service.analyzer.llm import LLMClassifier, LLMLabels
from router_service.analyzer.settings import AgentSettings, AgentsSettings, AnalyzerSettings, LLMClassifierSettings

__all__ = [
    "Agent",
    "AgentCoordinator",
    "AgentSettings",
    "AgentsSettings",
    "Analysis",
    "Analyzer",
    "AnalyzerSettings",
    "LLMClassifier",
    "LLMClassifierSettings",
    "LLMLabels",
    "PromptFeatures",
]

"""compiler/rules/data/questions.yaml as ruamel.yaml's safe loader reads it.

Made by `make prebuilt`; do not edit."""

import datetime

DATA = {'region': {'ask': 'Where should the apps run?',
            'explain': 'a Hetzner data centre in the EU; pick the one nearest your users',
            'default': 'fsn1',
            'choices': {'fsn1': 'Falkenstein, Germany',
                        'nbg1': 'Nuremberg, Germany',
                        'hel1': 'Helsinki, Finland'}},
 'traffic': {'ask': 'How much traffic will the app get?',
             'explain': 'sets how many instances run at quiet and at busy times',
             'choices': {'low': 'up to a few requests a second (internal tools, new products)',
                         'medium': 'tens of requests a second',
                         'high': 'hundreds of requests a second',
                         'very-high': 'thousands of requests a second'},
             'worker': {'ask': 'How much work will it get?',
                        'choices': {'low': 'a few jobs a minute',
                                    'medium': 'a job or more a second',
                                    'high': 'tens of jobs a second',
                                    'very-high': 'hundreds of jobs a second'}}},
 'latency': {'ask': 'How much do users notice when it is slow?',
             'explain': 'sets how early instances are added, and whether one instance may serve '
                        'alone',
             'choices': {'relaxed': 'hardly (internal tools, batch work); instances run busy '
                                    'before more are added',
                         'standard': 'like most web apps',
                         'sensitive': 'at once (checkout, APIs other apps wait on); never fewer '
                                      'than two instances'},
             'worker': {'ask': 'How soon must a job be picked up?',
                        'choices': {'relaxed': 'whenever there is room (reports, clean-ups)',
                                    'standard': 'within a few seconds, like most queues',
                                    'sensitive': 'at once (emails a user waits for, payments); '
                                                 'never fewer than two instances'}}},
 'workload': {'ask': 'What kind of work does it do?',
              'explain': 'sets the size of one instance (CPU and memory)',
              'choices': {'web': 'answers requests, mostly waiting on the network or a database',
                          'worker': 'works through jobs in the background',
                          'cpu-intensive': 'computes a lot (images, reports, machine learning)',
                          'memory-intensive': 'holds a lot in memory (caches, large data sets)'}},
 'startup': {'ask': 'How long does it take to start?',
             'explain': 'sets how long a new instance may take before it counts as broken',
             'choices': {'fast': 'under 10 seconds',
                         'medium': '10 to 60 seconds',
                         'slow': 'over a minute'}},
 'pattern': {'ask': 'How does its traffic vary?',
             'explain': 'sets the headroom for peaks and how fast instances come and go',
             'choices': {'steady': 'about the same all day',
                         'daily-peaks': 'busy hours every day (lunch, evenings)',
                         'spiky': 'sudden bursts (launches, campaigns, notifications)'},
             'worker': {'ask': 'How does its work vary?',
                        'choices': {'steady': 'about the same all day',
                                    'daily-peaks': 'busy hours every day',
                                    'spiky': 'sudden bursts (imports, campaigns, a backlog to '
                                             'clear)'}}}}

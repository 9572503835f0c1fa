from cnnreport.cli import main

main()
